import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);
import{Argument}from"./chunk-M45TQS4T.js";import"./chunk-6R3TP3BM.js";var BASH=`# kitfed completion for bash. Load it with:  source <(kitfed completion bash)
_kitfed_complete() {
  local line="\${COMP_LINE:0:COMP_POINT}" cur="\${COMP_WORDS[COMP_CWORD]}" out item files=0
  local -a words
  # Split the line as the shell will run it (COMP_WORDS would also split at = and :).
  read -r -a words <<< "$line"
  [[ -z $line || $line == *[[:space:]] ]] && words+=("")
  out=$("\${words[0]}" __complete "\${words[@]:1}" 2>/dev/null) || return 0
  COMPREPLY=()
  while IFS= read -r item; do
    [[ -z $item ]] && continue
    if [[ $item == ":files" ]]; then files=1; continue; fi
    item="\${item%%$'\\t'*}"
    # bash replaces only the part of the word after the last = or :; offer that part.
    [[ $cur != "\${words[-1]}" && $item == "\${words[-1]%"$cur"}"* ]] && item="\${item#"\${words[-1]%"$cur"}"}"
    COMPREPLY+=("$item")
  done <<< "$out"
  if (( files )); then
    compopt -o filenames 2>/dev/null
    local f
    while IFS= read -r f; do COMPREPLY+=("$f"); done < <(compgen -f -- "$cur")
  fi
}
complete -F _kitfed_complete kitfed
`,ZSH=`#compdef kitfed
# kitfed completion for zsh. Load it with:  source <(kitfed completion zsh)   (after compinit)
_kitfed() {
  local -a described plain
  local line files=0
  for line in "\${(@f)$(\${words[1]} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}"; do
    [[ -z $line ]] && continue
    if [[ $line == ":files" ]]; then files=1; continue; fi
    if [[ $line == *$'\\t'* ]]; then
      described+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
    else
      plain+=("$line")
    fi
  done
  (( \${#described} )) && _describe -t kitfed 'kitfed' described
  (( \${#plain} )) && compadd -- "\${plain[@]}"
  (( files )) && _files
  return 0
}
if (( $+functions[compdef] )); then compdef _kitfed kitfed; fi
`,FISH=`# kitfed completion for fish. Load it with:  kitfed completion fish | source
function __kitfed_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l files 0
    for line in ($words[1] __complete $words[2..-1] 2>/dev/null)
        if test "$line" = ":files"
            set files 1
        else
            echo $line
        end
    end
    if test $files = 1
        __fish_complete_path (commandline -ct)
    end
end
complete -c kitfed -f -a '(__kitfed_complete)'
`,SCRIPTS={bash:BASH,zsh:ZSH,fish:FISH};function register(program){program.command("completion").description("Print a shell completion script: subcommands, flags, and values where cheap (cluster names and namespaces from the federation, kubeconfig contexts, pipeline run ids)").addArgument(new Argument("<shell>","bash, zsh or fish").choices(Object.keys(SCRIPTS))).addHelpText("after",`
Examples:
  source <(kitfed completion bash)                       # this shell; add the line to ~/.bashrc to keep it
  kitfed completion bash > /etc/bash_completion.d/kitfed
  source <(kitfed completion zsh)                        # after compinit, e.g. in ~/.zshrc
  kitfed completion fish > ~/.config/fish/completions/kitfed.fish
`).action(shell=>{process.stdout.write(SCRIPTS[shell])})}export{SCRIPTS,register};
