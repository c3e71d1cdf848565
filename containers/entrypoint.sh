#!/bin/sh
# The image runs ecompipe. ECS passes ["task", "validate"]; `docker compose run pipeline ecompipe
# run /data` passes the program name too, so a leading "ecompipe" is dropped.
if [ "$1" = "ecompipe" ]; then
  shift
fi
exec ecompipe "$@"
