# bash completion for reprise, the Reprise console: its options (those of
# `reprise --help`; tests/console/bash_completion_test.cc holds them in step)
# and `reprise token new NAME viewer|operator`. Installed as
# share/bash-completion/completions/reprise.
_reprise() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if [[ "${COMP_WORDS[1]:-}" == token ]]; then
    case "$COMP_CWORD" in
      2) COMPREPLY=($(compgen -W "new" -- "$cur")) ;;
      4) COMPREPLY=($(compgen -W "viewer operator" -- "$cur")) ;;
    esac
    return 0
  fi
  case "$prev" in
    --token-file | --tls-ca | --tls-cert | --tls-key)
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
      return 0 ;;
    -a | --agent | -c | --command | --timeout | --fleet | --service | --instance)
      return 0 ;;  # a value of the user's own
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "--agent --fleet --service --instance --command --json --yes
      --timeout --token-file --tls-ca --tls-cert --tls-key --help --version" -- "$cur"))
  elif ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W "token" -- "$cur"))
  fi
  return 0
}
complete -F _reprise reprise
