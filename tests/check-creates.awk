# tests/check-creates.awk: over an strace log (-f, openat fchown fchmod
# write close), checks that every file opened by a line matching the
# regex `sel` (lock files aside) is created O_CREAT|O_EXCL with mode 0600
# (and O_NOFOLLOW when nofollow=1), then gets fchown and fchmod before
# the first write to it.  Prints the count; exits 1 on any breach or if
# no file was seen.
#
#   awk -v sel='certpull-new", ' -v nofollow=1 -f tests/check-creates.awk TRACE
/openat\(/ && $0 ~ sel && !/lock"/ {
	if ($0 !~ /O_CREAT/ || $0 !~ /O_EXCL/ || (nofollow && $0 !~ /O_NOFOLLOW/) ||
	    $0 !~ /, 0600\) = [0-9]+$/) {
		print "bad create: " $0; bad = 1
	}
	fd = $NF; st[$1 " " fd] = "created"; n++; next
}
/fchown\(/ { split($2, a, /[(,]/); k = $1 " " a[2]; if ((k in st) && st[k] == "created") st[k] = "owned"; next }
/fchmod\(/ { split($2, a, /[(,]/); k = $1 " " a[2]; if ((k in st) && st[k] == "owned") st[k] = "ready"; next }
/write\(/ {
	split($2, a, /[(,]/); k = $1 " " a[2]
	if (k in st && st[k] != "ready") { print "write before owner/mode: " $0; bad = 1 }
	next
}
/close\(/ { split($2, a, /[(,)]/); delete st[$1 " " a[2]] }
END { print n " files created"; if (n == 0) { print "no file created"; bad = 1 } exit bad }
