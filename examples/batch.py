#!/usr/bin/env python3
"""batch.py — submit one request per row of a CSV file, then wait for all.

    $ examples/batch.py examples/prompts.csv mnt
    lantern   succeeded  mnt/by-name/lantern/video.mp4
    tide      succeeded  mnt/by-name/tide/video.mp4

The CSV has a header; `name` and `prompt` are required, every other column
is a request parameter (numbers and true/false are converted). Rows whose
name is already used are reported and skipped (writing a name twice never
makes a second task). Exit status: 0 when every task succeeded.
"""
import csv
import json
import os
import sys


def value(text):
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        return text


def main(csv_path, mnt):
    names, ok = [], True
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            name = row.pop("name")
            body = {k: value(v) for k, v in row.items() if v != ""}
            try:
                with open(os.path.join(mnt, "requests", name + ".json"), "x") as out:
                    json.dump(body, out)            # close() submits, or says why not
                names.append(name)
            except OSError as e:
                print(f"{name:10} refused    {e.strerror}", file=sys.stderr)
                ok = False
    for name in names:
        with open(os.path.join(mnt, "by-name", name, "wait")) as w:   # blocks until final
            status = w.read().strip()
        video = os.path.join(mnt, "by-name", name, "video.mp4")
        print(f"{name:10} {status:10} {video if status == 'succeeded' else ''}".rstrip())
        ok &= status == "succeeded"
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: batch.py PROMPTS.csv MNT")
    sys.exit(main(sys.argv[1], sys.argv[2]))
