# Cluster files on this host's free ports, for the tests and benchmarks that
# start real daemons (sourced; needs /usr/bin/python3).

# free_ports N: prints N distinct free TCP ports on localhost.
free_ports() {
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# write_cluster FILE NUM_PS NUM_WORKERS: a localhost cluster on free ports.
write_cluster() {
  local file="$1" num_ps="$2" num_workers="$3"
  local ports
  read -r -a ports <<< "$(free_ports $((num_ps + num_workers)))"
  local ps="" workers="" i
  for ((i = 0; i < num_ps; i++)); do ps+="${ps:+, }\"localhost:${ports[$i]}\""; done
  for ((i = 0; i < num_workers; i++)); do
    workers+="${workers:+, }\"localhost:${ports[$((num_ps + i))]}\""
  done
  echo "{\"cluster\": {\"ps\": [$ps], \"worker\": [$workers]}}" > "$file"
}
