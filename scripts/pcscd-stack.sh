#!/bin/sh
# Starts/stops the pcscd + vpcd test stack: scripts/pcscd-stack.sh start [--no-nodelay] [--debug] | stop | status
here=$(cd "$(dirname "$0")" && pwd)
exec node "$here/../bin/run-ts.js" "$here/pcscd-stack.ts" "$@"
