# fish completion for git-eosvc and eosvc, generated from git-eosvc's argument parser.
# Install: git-eosvc completion fish > ~/.config/fish/completions/git-eosvc.fish
# (for `eosvc`, the same file as eosvc.fish), or load it: git-eosvc completion fish | source

function __git_eosvc_command --description 'the git-eosvc command on the line, if any'
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for w in $words
        if test $skip = 1
            set skip 0
        else if contains -- $w --progress
            set skip 1
        else if not string match -q -- '-*' $w
            echo $w
            return 0
        end
    end
    return 1
end

function __git_eosvc_using --description 'is the git-eosvc command on the line $argv[1]?'
    set -l cmd (__git_eosvc_command)
    test "$cmd" = "$argv[1]"
end

function __git_eosvc_refs --description 'branches, tags and remote branches'
    echo HEAD
    git for-each-ref --format='%(refname:short)' refs/heads refs/tags refs/remotes 2>/dev/null
end

complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -f
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a init -d 'set up this repo: access.json, .eosvcconfig, .gitattributes, .gitignore'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a install -d 'once per clone: hooks and drivers, then materialise HEAD\'s artifacts'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a uninstall -d 'remove git-eosvc\'s hooks and drivers from this clone'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a hook -d 'what the installed git hooks call'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a status -d 'artifact changes per section'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a add -d 'hash the sections, rewrite and stage their manifests'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a checkout -d 'materialise the manifests\' artifacts'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a fetch -d 'download the objects of revisions into the local store'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a push -d 'upload what the new commits need, then git push'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a pull -d 'git pull --rebase, then materialise'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a verify -d 're-hash the local store'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a completion -d 'print a shell completion script'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a clone -d 'git clone a repo, install, and download its artifacts'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a download -d 'download and materialise one path of a section'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a upload -d 'hash, store and upload one path'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a delete -d 'stop tracking one path and remove it here, staged'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a config -d 'store S3 keys in ~/.eosvc/.config'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a doctor -d 'where settings, access, locks and credentials come from'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a view -d 'the manifests\' tree with local and remote state'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a diff -d 'artifact-level diff: added / removed / modified / renamed files with sizes'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a show-manifest -d 'print a manifest as aligned `path size short-hash` lines'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a merge-driver -d '3-way merge of a manifest, per path'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a import-eosvc -d 'import files EOSVC stored by path: hash them, copy them to content-addressed keys inside S3, write and stage the manifests'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a watch -d 'run a command and upload a section while it runs: stable new files every --every, and at the end'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a recover -d 'bring the last uploaded work in progress of `git eosvc watch` into this clone'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a gc -d 'remove local store objects nothing here needs'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a cat -d 'write an artifact\'s bytes of any revision to stdout'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a export -d 'write an artifact of any revision to DEST'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a du -d 'bytes per section for revisions: distinct, shared, local, on S3'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -a drop -d 'remove local copies of recorded files to save space'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n 'not __git_eosvc_command' -l version -d 'show program\'s version number and exit'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -l kind -x -a 'standard model' -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -l repo -x -d 'the S3 prefix'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -l public-bucket -x -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -l private-bucket -x -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -l endpoint -x -d 'S3 endpoint URL'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using init' -l create-buckets -d 'create the public and private buckets'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using install' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using install' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using install' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using install' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using install' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using install' -l force -d 'replace foreign hooks'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using install' -l chain -d 'keep foreign hooks and run them first'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using install' -l no-hooks -d 'for a hook manager that calls `git eosvc hook`: drivers, and only the hooks managers cannot run'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using install' -l shared-hooks -d 'install even where a global core.hooksPath makes every repository run them'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using uninstall' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using uninstall' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using uninstall' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using uninstall' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using uninstall' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using hook' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using hook' -a 'pre-commit pre-push post-checkout post-merge post-rewrite post-commit post-index-change post-applypatch reference-transaction' -d 'the git hook being run'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using hook' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using hook' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using hook' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using hook' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using status' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using status' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using status' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using status' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using status' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using status' -l remote -d 'also list what is not yet on S3'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using status' -l json -d 'a JSON object instead of text'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using add' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using add' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using add' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using add' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using checkout' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using checkout' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using checkout' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using checkout' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using checkout' -l force -d 'replace locally modified files'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using checkout' -l dry-run -s n -d 'print the plan, change nothing'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using checkout' -l ours -d 'resolve the conflicted entries at PATH with our side'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using checkout' -l theirs -d '… with their side'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using checkout' -l release -x -d 'the highest tag whose version matches SPEC: PEP 440 or semver'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using fetch' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using fetch' -a '(__git_eosvc_refs)'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using fetch' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using fetch' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using fetch' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using fetch' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using fetch' -l release -x -d 'the highest tag whose version matches SPEC: PEP 440 or semver'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using push' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using push' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using push' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using push' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using push' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using push' -l dry-run -s n -d 'print what would be uploaded'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using pull' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using pull' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using pull' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using pull' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using pull' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using pull' -s y -l yes -d 'replace locally modified artifacts'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using verify' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using verify' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using verify' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using verify' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using verify' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using verify' -l local -d 'skip the S3 check'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using verify' -l json -d 'a JSON object instead of text'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using completion' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using completion' -a 'bash zsh fish' -d 'the shell the script is for'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using completion' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using completion' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using completion' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using completion' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using clone' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using clone' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using clone' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using clone' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using clone' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using clone' -l org -x -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using clone' -l dest -x -a '(__fish_complete_directories)' -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using clone' -l url -x -d 'clone from this URL instead of https://github.com/ORG/NAME.git'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using download' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using download' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using download' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using download' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using download' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using download' -l path -r -F -d ''

complete -c git-eosvc -c eosvc -n '__git_eosvc_using upload' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using upload' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using upload' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using upload' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using upload' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using upload' -l path -r -F -d ''

complete -c git-eosvc -c eosvc -n '__git_eosvc_using delete' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using delete' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using delete' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using delete' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using delete' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using delete' -l path -r -F -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using delete' -l yes -s y -d 'accepted for EOSVC\'s scripts'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -l access-key-id -x -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -l secret-access-key -x -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -l session-token -x -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -l region -x -d 'written as AWS_REGION'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using config' -l default-region -x -d 'written as AWS_DEFAULT_REGION'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using doctor' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using doctor' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using doctor' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using doctor' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using doctor' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using view' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using view' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using view' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using view' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using view' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using view' -l path -r -F -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using view' -l max-depth -x -d ''
complete -c git-eosvc -c eosvc -n '__git_eosvc_using view' -l local -d 'skip the S3 check'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using view' -l json -d 'a JSON object instead of the tree'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -a '(__git_eosvc_refs)'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -l stat -d 'one summary line per section'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -l format -x -a 'text markdown json' -d 'markdown: a pull-request comment'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -l max-rows -x -d 'markdown: list at most N changes, largest first'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using diff' -l exit-code -d 'exit 1 if there are differences'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using show-manifest' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using show-manifest' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using show-manifest' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using show-manifest' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using merge-driver' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using merge-driver' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using merge-driver' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using merge-driver' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -l dry-run -s n -d 'list what would be imported, change nothing'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -l path -r -F -d 'import one section only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -l eosvc-repo -x -d 'the repo\'s name under EOSVC'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -l from-public-bucket -x -d 'EOSVC\'s public bucket'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -l from-private-bucket -x -d 'EOSVC\'s private bucket'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -l from-models-public-bucket -x -d 'EOSVC 1.x\'s public bucket for model repos'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using import-eosvc' -l from-models-private-bucket -x -d 'EOSVC 1.x\'s private bucket for model repos'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using watch' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using watch' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using watch' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using watch' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using watch' -l every -x -d 'how often to look: 300, 300s, 5m, 1h'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using watch' -l settle -x -d 'a file is uploaded once unchanged this long'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using watch' -l remote -x -d 'the git remote the work-in-progress ref goes to'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using recover' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using recover' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using recover' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using recover' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using recover' -l from -x -d 'the git remote to fetch it from'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using recover' -l branch -x -d 'the branch it was recorded on'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using recover' -l force -d 'also when the section\'s manifest has uncommitted changes'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -l dry-run -s n -d 'print what would be removed, remove nothing'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -l grace -x -d 'keep objects younger than this, and what reflog entries younger than this need: 14d, 2w, 36h, 90m, 30s, 0'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -l history -d 'local: also keep what every commit reachable from the roots needs, not only their tips'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -l shared-store -d 'local: go ahead although the store is shared with other clones'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -l remote -d 'delete S3 objects no commit of the git remote needs, in both buckets'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -l from -x -d 'with --remote: the git remote whose refs count'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using gc' -l apply -d 'with --remote: really delete'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using cat' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using cat' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using cat' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using cat' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using cat' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using cat' -l release -x -d 'the highest tag whose version matches SPEC: PEP 440 or semver'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using cat' -l ours -d 'PATH on our side of a conflicted merge'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using cat' -l theirs -d 'PATH on their side of a conflicted merge'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using export' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using export' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using export' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using export' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using export' -l release -x -d 'the highest tag whose version matches SPEC: PEP 440 or semver'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using export' -l ours -d 'PATH on our side of a conflicted merge'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using export' -l theirs -d 'PATH on their side of a conflicted merge'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using export' -l force -d 'replace DEST if it exists'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using du' -f
complete -c git-eosvc -c eosvc -n '__git_eosvc_using du' -a '(__git_eosvc_refs)'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using du' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using du' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using du' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using du' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using du' -l all -d 'every commit of every local branch and tag'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using du' -l remote -d 'also what S3 holds under the repo\'s prefix'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using du' -l json -d 'a JSON object instead of text'

complete -c git-eosvc -c eosvc -n '__git_eosvc_using drop' -s h -l help -d 'show this help message and exit'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using drop' -s q -l quiet -d 'print errors only'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using drop' -s v -l verbose -d 'also print each file moved or written'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using drop' -l progress -x -a 'auto bar plain none' -d 'progress display: a bar on a terminal, plain lines in logs, or none'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using drop' -l force -d 'also drop files modified since they were recorded'
complete -c git-eosvc -c eosvc -n '__git_eosvc_using drop' -l dry-run -s n -d 'print what would be dropped, change nothing'
