#!/bin/sh
# copy-tree.sh DEST: copy the source tree, as it is in the working tree now
# (tracked files and new ones git does not ignore), into DEST, for a
# package build.  Build products, dist/ and .git stay behind: .gitignore
# lists them.  Outside a git checkout, everything but those is copied.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: copy-tree.sh DEST" >&2
	exit 64
fi
dest=$1
mkdir -p "$dest"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# A tracked file deleted in the working tree is still listed: skip it.
	git ls-files --cached --others --exclude-standard |
	while IFS= read -r f; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			printf '%s\n' "$f"
		fi
	done >"$dest/.files"
	tar --verbatim-files-from -T "$dest/.files" -cf - | tar -C "$dest" -xf -
	rm -f "$dest/.files"
else
	tar --exclude=./.git --exclude=./build --exclude=./dist \
	    --exclude=./certpush/certpush --exclude=./certpull/certpull \
	    -cf - . | tar -C "$dest" -xf -
fi
