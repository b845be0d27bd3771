#!/usr/bin/perl
# tests/corpus/craft.pl: read, change and re-sign certpush bundles
# (certbundle(5)) for the hostile-input corpus and tests.  Perl and the
# openssl CLI only; signatures are Ed25519 over every byte before them,
# made with "openssl pkeyutl -sign -rawin".
#
#   craft.pl show BUNDLE
#	print the fields, one per line (for humans and for diffs)
#   craft.pl fields BUNDLE
#	print "OFFSET LENGTH FIELD" for every field (whole-file offsets)
#   craft.pl resign-flips BUNDLE KEY OUTDIR
#	for every byte of the body: flip it (XOR 0x01), re-sign with KEY,
#	write OUTDIR/flip-OFFSET.bundle
#   craft.pl corpus BASE SMALLBASE KEY OTHERKEY MATERIALS OUTDIR
#	write the hostile corpus and OUTDIR/MANIFEST (see make-corpus.sh)
#   craft.pl big KEY MATERIALS OUTDIR
#	write the cases too big to commit (over 256 KiB and over 1 MiB)
#
# Every integer is big-endian; see common/certbundle.5.
use strict;
use warnings;
use Digest::SHA qw(sha256);
use File::Temp qw(tempdir);

my $HEADER = 24;
my $SIGLEN = 64;
my $TMP = tempdir(CLEANUP => 1);

sub slurp {
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "$path: $!\n";
	local $/;
	my $d = <$fh>;
	close($fh);
	return defined $d ? $d : '';
}

sub spew {
	my ($path, $data) = @_;
	open(my $fh, '>:raw', $path) or die "$path: $!\n";
	print $fh $data or die "$path: $!\n";
	close($fh) or die "$path: $!\n";
}

# run CMD...: run without a shell; die if it fails.
sub run {
	system(@_) == 0 or die "failed: @_\n";
}

# The raw 32-byte public key and the 8-byte key id of a PKCS#8 Ed25519 key.
sub keyid {
	my ($key) = @_;
	run('openssl', 'pkey', '-in', $key, '-pubout', '-outform', 'DER',
	    '-out', "$TMP/pub.der");
	my $raw = substr(slurp("$TMP/pub.der"), -32);
	return substr(sha256($raw), 0, 8);
}

sub sign {
	my ($key, $msg) = @_;
	spew("$TMP/msg", $msg);
	run('openssl', 'pkeyutl', '-sign', '-inkey', $key, '-rawin',
	    '-in', "$TMP/msg", '-out', "$TMP/sig");
	my $sig = slurp("$TMP/sig");
	length($sig) == $SIGLEN or die "signature is not $SIGLEN bytes\n";
	return $sig;
}

# parse DATA: a hash of every field of a well-formed bundle; dies otherwise.
sub parse {
	my ($d) = @_;
	my %b;
	length($d) >= $HEADER + $SIGLEN or die "too short\n";
	@b{qw(magic format alg keyid bodylen)} = unpack('a8 n n a8 N', $d);
	my $body = substr($d, $HEADER, length($d) - $HEADER - $SIGLEN);
	$b{sig} = substr($d, -$SIGLEN);
	my $p = 0;
	my $take = sub {
		my ($n) = @_;
		$p + $n <= length($body) or die "body truncated\n";
		my $s = substr($body, $p, $n);
		$p += $n;
		return $s;
	};
	@b{qw(type version)} = unpack('n n', $take->(4));
	@b{qw(serial created expires)} = unpack('Q> Q> Q>', $take->(24));
	$b{audience} = $take->(unpack('C', $take->(1)));
	my $n = unpack('n', $take->(2));
	$b{entries} = [];
	for (1 .. $n) {
		my %en;
		$en{name} = $take->(unpack('C', $take->(1)));
		@en{qw(kind size)} = unpack('C N', $take->(5));
		$en{hash} = $take->(32);
		$en{data} = $take->($en{size});
		push @{$b{entries}}, \%en;
	}
	$p == length($body) or die "trailing bytes\n";
	return \%b;
}

# encode B [KEY]: the bytes of bundle B, signed with KEY unless B->{sig} is
# set.  Overrides: count (entry count), trailer (bytes after the entries),
# bodylen, audlen (audience length byte), per entry namelen, size, hash.
sub encode {
	my ($b, $key) = @_;
	my $body = pack('n n Q> Q> Q>', $b->{type}, $b->{version}, $b->{serial},
	    $b->{created}, $b->{expires});
	$body .= pack('C', $b->{audlen} // length($b->{audience})) . $b->{audience};
	$body .= pack('n', $b->{count} // scalar @{$b->{entries}});
	for my $en (@{$b->{entries}}) {
		$body .= pack('C', $en->{namelen} // length($en->{name})) . $en->{name};
		$body .= pack('C N', $en->{kind}, $en->{size} // length($en->{data}));
		$body .= $en->{hash} // sha256($en->{data});
		$body .= $en->{data};
	}
	$body .= $b->{trailer} // '';
	$body = substr($body, 0, $b->{cut}) if defined $b->{cut};
	my $head = pack('a8 n n a8 N', $b->{magic}, $b->{format}, $b->{alg},
	    $b->{keyid}, $b->{bodylen} // length($body));
	return $head . $body . ($b->{sig} // sign($key, $head . $body));
}

# A deep copy without the derived fields (entry sizes and hashes, body
# length, signature): encode computes them again from what changed.
sub clone {
	my ($b) = @_;
	my %c = %$b;
	$c{entries} = [map { my %e = %$_; delete @e{qw(hash size)}; \%e } @{$b->{entries}}];
	delete @c{qw(sig bodylen)};
	return \%c;
}

sub entry {
	my ($b, $name) = @_;
	for my $en (@{$b->{entries}}) {
		return $en if $en->{name} eq $name;
	}
	die "no entry $name\n";
}

sub cmd_show {
	my $b = parse(slurp($_[0]));
	printf "format %d alg %d keyid %s bodylen %d\n", $b->{format}, $b->{alg},
	    unpack('H*', $b->{keyid}), $b->{bodylen};
	printf "type %d version %d serial %s created %s expires %s audience %s\n",
	    $b->{type}, $b->{version}, $b->{serial}, $b->{created}, $b->{expires},
	    $b->{audience};
	printf "entry %s kind %d size %d\n", $_->{name}, $_->{kind}, $_->{size}
	    for @{$b->{entries}};
}

sub cmd_fields {
	my $d = slurp($_[0]);
	my $b = parse($d);
	my $o = 0;
	my $f = sub { print "$o $_[0] $_[1]\n"; $o += $_[0]; };
	$f->(8, 'magic'); $f->(2, 'format'); $f->(2, 'alg'); $f->(8, 'keyid');
	$f->(4, 'bodylen'); $f->(2, 'type'); $f->(2, 'version'); $f->(8, 'serial');
	$f->(8, 'created'); $f->(8, 'expires'); $f->(1, 'audlen');
	$f->(length($b->{audience}), 'audience'); $f->(2, 'count');
	my $i = 0;
	for my $en (@{$b->{entries}}) {
		my ($item) = $en->{name} =~ m{^(.*)/};
		$f->(1, "entry$i.namelen");
		$f->(length($item), "entry$i.item");
		$f->(length($en->{name}) - length($item), "entry$i.kindword");
		$f->(1, "entry$i.kind"); $f->(4, "entry$i.size");
		$f->(32, "entry$i.hash"); $f->($en->{size}, "entry$i.data");
		$i++;
	}
	$f->($SIGLEN, 'signature');
}

sub cmd_resign_flips {
	my ($in, $key, $out) = @_;
	my $d = slurp($in);
	my $len = length($d) - $SIGLEN;
	for my $i ($HEADER .. $len - 1) {
		my $m = substr($d, 0, $len);
		substr($m, $i, 1) = chr(ord(substr($m, $i, 1)) ^ 1);
		spew(sprintf("%s/flip-%05d.bundle", $out, $i), $m . sign($key, $m));
	}
}

# ---------------------------------------------------------------------------
# The corpus.  Each case: file name, the check that must reject it (the
# word certpull prints), and what it is.  "accept" marks the controls.

my @manifest;

sub put {
	my ($dir, $name, $check, $what, $data) = @_;
	spew("$dir/$name.bundle", $data);
	push @manifest, sprintf("%-28s %-10s %s", "$name.bundle", $check, $what);
}

sub pem {
	my ($dir, $name) = @_;
	return slurp("$dir/$name");
}

sub cmd_corpus {
	my ($basef, $smallf, $key, $other, $mat, $out) = @_;
	my $base = parse(slurp($basef));
	my $small = parse(slurp($smallf));
	my $kid = keyid($key);
	my $S = $base->{serial};
	# Far from any clock the corpus will meet: the committed files stay
	# valid (or invalid for the intended reason) for decades.
	my $created = $base->{created};
	my $expires = 4070908800;	# 2099-01-01T00:00:00Z
	# Hostile cases carry serial S+10: above the installed "valid" (S), so
	# that each reaches the check it is made for.
	my $mk = sub {
		my $c = clone($base);
		@$c{qw(keyid created expires serial)} = ($kid, $created, $expires, $S + 10);
		return $c;
	};
	my ($b, $en);

	$b = $mk->(); $b->{serial} = $S;
	put($out, "valid", "accept", "control: installed first, serial S", encode($b, $key));
	$b = $mk->(); $b->{serial} = $S + 1;
	put($out, 'valid-next', 'accept', 'control: the next serial, accepted last',
	    encode($b, $key));
	my $s = clone($small);
	@$s{qw(keyid created expires serial audience)} = ($kid, $created, $expires, $S + 2, "mail");
	put($out, 'small', 'accept', 'control: one Ed25519 DKIM entry (flipped and truncated by the tests)',
	    encode($s, $key));
	# Regressions: an expiry past the years gmtime() represents made
	# "certpull verify" crash printing it (found by re-signed flips).
	@$s{qw(serial expires)} = ($S + 3, 9223372036854775807);
	put($out, 'expires-2e63', 'accept', 'control: DKIM only, expires at 2^63-1 (crashed verify once)',
	    encode($s, $key));
	@$s{qw(serial expires)} = ($S + 4, 18446744073709551615);
	put($out, 'expires-2e64', 'accept', 'control: DKIM only, expires at 2^64-1 (crashed verify once)',
	    encode($s, $key));

	# Sizes and header: decided before the signature.
	put($out, 'empty', 'size', 'zero bytes', '');
	put($out, 'short', 'size', '87 bytes, one less than header and signature',
	    substr(encode($mk->(), $key), 0, 87));
	$b = $mk->(); $b->{magic} = 'CPBUNDLF';
	put($out, 'bad-magic', 'magic', 'magic CPBUNDLF', encode($b, $key));
	put($out, 'not-a-bundle', 'magic', 'a PEM certificate instead of a bundle',
	    pem($mat, 'www.crt'));
	$b = $mk->(); $b->{format} = 3;
	put($out, 'format-3', 'format', 'format version 3', encode($b, $key));
	$b = $mk->(); $b->{alg} = 0;
	put($out, 'alg-0', 'algorithm', 'algorithm 0', encode($b, $key));
	$b = $mk->(); $b->{bodylen} = 0xffffffff;
	put($out, 'bodylen-huge', 'length', 'declared body length 4294967295, short data',
	    encode($b, $key));
	my $v = encode($mk->(), $key);
	$b = $mk->(); $b->{sig} = substr($v, -$SIGLEN); $b->{bodylen} = unpack('N', substr($v, 20, 4)) - 1;
	put($out, 'bodylen-minus1', 'length', 'declared body length one short', encode($b, $key));
	put($out, 'padded', 'length', 'a valid bundle with one byte appended', $v . "\0");
	put($out, 'truncated-sig', 'length', 'a valid bundle without its last byte',
	    substr($v, 0, -1));

	# The signer.
	$b = $mk->(); $b->{keyid} = keyid($other);
	put($out, 'unknown-key', 'key', 'signed by a key that is not trusted', encode($b, $other));
	$b = $mk->(); $b->{sig} = sign($other, substr(encode($mk->(), $key), 0, -$SIGLEN));
	put($out, 'forged-sig', 'signature', 'trusted key id, signature by another key',
	    encode($b, $key));
	$b = $mk->(); $b->{sig} = "\0" x $SIGLEN;
	put($out, 'zero-sig', 'signature', 'signature of zeros', encode($b, $key));
	$b = $mk->(); $b->{sig} = substr($v, -$SIGLEN); $b->{serial} = $S + 1000;
	put($out, 'serial-edited', 'signature', 'serial changed after signing', encode($b, $key));
	$b = $mk->(); $b->{sig} = substr($v, -$SIGLEN); entry($b, 'dkim/dkim')->{data} =~ s/A/B/;
	put($out, 'entry-edited', 'signature', 'a key byte changed after signing (hash updated)',
	    encode($b, $key));

	# Metadata, signed with the trusted key from here on.
	$b = $mk->(); $b->{type} = 2;
	put($out, 'type-2', 'metadata', 'bundle type 2', encode($b, $key));
	$b = $mk->(); $b->{version} = 2;
	put($out, 'version-2', 'metadata', 'signed version 2 disagrees with the header',
	    encode($b, $key));
	$b = $mk->(); $b->{audience} = 'm' x 200;
	put($out, 'audience-200', 'metadata', 'audience of 200 bytes (limit 64)', encode($b, $key));
	$b = $mk->(); $b->{audience} = "mail\0other";
	put($out, 'audience-nul', 'metadata', 'audience "mail\\0other"', encode($b, $key));
	$b = $mk->(); $b->{audlen} = 255;
	put($out, 'audience-len-255', 'metadata', 'audience length 255 over a short body',
	    encode($b, $key));
	$b = $mk->(); $b->{cut} = 12;
	put($out, 'metadata-cut', 'metadata', 'body ends inside the serial', encode($b, $key));
	$b = $mk->(); $b->{created} = $expires + 1;
	put($out, 'created-after-expiry', 'metadata', 'created after it expires', encode($b, $key));
	$b = $mk->(); $b->{audience} = 'backup1';
	put($out, 'other-node', 'audience', 'a valid bundle for node backup1', encode($b, $key));
	$b = $mk->(); $b->{audience} = 'mai';
	put($out, 'audience-prefix', 'audience', 'audience "mai", a prefix of the node name',
	    encode($b, $key));
	$b = $mk->(); @$b{qw(created expires)} = (1500000000, 1600000000);
	put($out, 'expired', 'expired', 'bundle expired in 2020', encode($b, $key));

	# Serial, against the installed "valid" (serial S).
	$b = $mk->(); $b->{serial} = $S - 1;
	put($out, 'replay-older', 'serial', 'a valid bundle with serial S-1 (replay)',
	    encode($b, $key));
	$b = $mk->(); @$b{qw(serial created)} = ($S, $created + 1);
	put($out, 'serial-reuse', 'serial', 'serial S again with other content', encode($b, $key));
	$b = $mk->(); $b->{serial} = 0;
	put($out, 'serial-zero', 'serial', 'serial 0', encode($b, $key));

	# Entries.
	$b = $mk->(); $b->{entries} = []; $b->{count} = 0;
	put($out, 'count-0', 'entry', 'no entries', encode($b, $key));
	$b = $mk->(); $b->{count} = 33;
	put($out, 'count-33', 'entry', 'entry count 33 (limit 32)', encode($b, $key));
	$b = $mk->(); $b->{count} = 65535;
	put($out, 'count-65535', 'entry', 'entry count 65535 over 3 entries', encode($b, $key));
	$b = $mk->(); $b->{count} = 4;
	put($out, 'count-4-of-3', 'entry', 'entry count 4, 3 entries present', encode($b, $key));
	$b = $mk->();
	push @{$b->{entries}}, map { { name => "d$_/dkim", kind => 3,
	    data => entry($mk->(), 'dkim/dkim')->{data} } } 1 .. 30;
	put($out, 'many-entries', 'entry', '33 entries (limit 32)', encode($b, $key));
	for my $t (['traversal', '../../etc/chain', '"../../etc/chain"'],
	    ['traversal-mid', 'www/../chain', '"www/../chain"'],
	    ['absolute', '/etc/ssl/chain', '"/etc/ssl/chain"'],
	    ['dot-item', '.www/chain', '".www/chain" (hidden file)'],
	    ['dash-item', '-www/chain', '"-www/chain" (an option)'],
	    ['space-item', 'w w/chain', '"w w/chain"'],
	    ['newline-item', "www\n/chain", '"www\\n/chain"'],
	    ['slash-item', 'a/b/chain', '"a/b/chain"'],
	    ['kind-word', 'www/key', '"www/key" with kind chain'],
	    ['no-kind-word', 'www', '"www" without a kind']) {
		$b = $mk->(); entry($b, 'www/chain')->{name} = $t->[1];
		put($out, "name-$t->[0]", 'entry', "entry name $t->[2]", encode($b, $key));
	}
	$b = $mk->(); entry($b, 'www/chain')->{name} = "www\0/chain";
	put($out, 'name-nul', 'entry', 'entry name "www\\0/chain"', encode($b, $key));
	$b = $mk->(); entry($b, 'www/chain')->{name} = ('w' x 59) . '/chain';
	put($out, 'name-65', 'entry', 'entry name of 65 bytes (limit 64)', encode($b, $key));
	$b = $mk->(); entry($b, "www/chain")->{namelen} = 0;
	put($out, 'name-len-0', 'entry', 'entry name length 0', encode($b, $key));
	$b = $mk->(); entry($b, 'dkim/dkim')->{kind} = 9;
	put($out, 'kind-9', 'entry', 'unknown entry kind 9', encode($b, $key));
	$b = $mk->(); push @{$b->{entries}}, { %{entry($mk->(), 'www/chain')} };
	put($out, 'duplicate', 'entry', 'www/chain twice', encode($b, $key));
	$b = $mk->(); entry($b, 'www/chain')->{size} = 262145;
	put($out, 'size-256k-plus1', 'entry', 'declared size 262145 (limit 262144), short data',
	    encode($b, $key));
	$b = $mk->(); entry($b, 'www/chain')->{size} = 0xffffffff;
	put($out, 'size-4g', 'entry', 'declared size 4294967295, short data', encode($b, $key));
	$b = $mk->(); $en = entry($b, 'dkim/dkim'); $en->{size} = 200000;
	put($out, 'size-past-end', 'entry', 'declared size 200000, data ends sooner',
	    encode($b, $key));
	$b = $mk->(); $b->{trailer} = "\0\0\0\0";
	put($out, 'trailing', 'entry', '4 bytes after the last entry', encode($b, $key));
	$b = $mk->(); $b->{cut} = length(encode($mk->(), $key)) - $HEADER - $SIGLEN - 100;
	put($out, 'entry-cut', 'entry', 'body ends inside the last entry', encode($b, $key));

	# Hashes.
	$b = $mk->(); $en = entry($b, 'www/key'); $en->{hash} = sha256($en->{data} . 'x');
	put($out, 'bad-hash', 'hash', 'www/key with a wrong SHA-256', encode($b, $key));
	$b = $mk->(); entry($b, 'www/chain')->{hash} = sha256(entry($b, 'www/key')->{data});
	put($out, 'swapped-hash', 'hash', 'www/chain with the hash of www/key', encode($b, $key));

	# Content, behind a valid signature and hashes.
	my %pemcase = (
	    'chain-text' => ['www/chain', "hello\n", 'chain is not PEM'],
	    'chain-binary' => ['www/chain', join('', map { chr } 0 .. 255), 'chain of binary bytes'],
	    'chain-empty' => ['www/chain', '', 'empty chain'],
	    'chain-with-key' => ['www/chain', pem($mat, 'www.crt') . pem($mat, 'www.key'),
		'a private key inside the chain'],
	    'chain-11' => ['www/chain', pem($mat, 'www.crt') . (pem($mat, 'intermediate.crt') x 10),
		'11 certificates (limit 10)'],
	    'chain-bad-b64' => ['www/chain', "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
		'certificate with bad base64'],
	    'chain-bad-der' => ['www/chain', "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n",
		'certificate whose DER does not parse'],
	    'key-text' => ['www/key', "not a key\n", 'key is not PEM'],
	    'key-two' => ['www/key', pem($mat, 'www.key') . pem($mat, 'www.key'), 'two keys'],
	    'key-trailing' => ['www/key', pem($mat, 'www.key') . "garbage\n", 'key followed by text'],
	    'key-encrypted' => ['www/key', pem($mat, 'encrypted.key'), 'passphrase-protected key'],
	    'dkim-cert' => ['dkim/dkim', pem($mat, 'www.crt'), 'a certificate as DKIM key'],
	    'dkim-rsa512' => ['dkim/dkim', pem($mat, 'rsa512.key'), 'DKIM RSA key of 512 bits'],
	    'dkim-ec' => ['dkim/dkim', pem($mat, 'www.key'), 'DKIM EC key (neither RSA nor Ed25519)'],
	);
	for my $n (sort keys %pemcase) {
		my ($name, $data, $what) = @{$pemcase{$n}};
		$b = $mk->(); entry($b, $name)->{data} = $data;
		put($out, $n, 'pem', $what, encode($b, $key));
	}
	$b = $mk->(); $b->{entries} = [grep { $_->{name} ne 'www/key' } @{$b->{entries}}];
	put($out, 'chain-without-key', 'pem', 'www/chain without www/key', encode($b, $key));
	$b = $mk->(); $b->{entries} = [grep { $_->{name} ne 'www/chain' } @{$b->{entries}}];
	put($out, 'key-without-chain', 'pem', 'www/key without www/chain', encode($b, $key));
	$b = $mk->(); entry($b, 'www/key')->{data} = pem($mat, 'other.key');
	put($out, 'key-mismatch', 'keymatch', 'www/key is the key of another certificate',
	    encode($b, $key));
	$b = $mk->(); entry($b, 'www/chain')->{data} = pem($mat, 'www.crt') . pem($mat, 'ca.crt');
	put($out, 'chain-order', 'chain', 'leaf followed by the root instead of its issuer',
	    encode($b, $key));
	$b = $mk->(); entry($b, 'www/chain')->{data} = pem($mat, 'expired.crt') . pem($mat, 'intermediate.crt');
	entry($b, 'www/key')->{data} = pem($mat, 'expired.key');
	put($out, 'cert-expired', 'certtime', 'the leaf expired in 2020', encode($b, $key));
	$b = $mk->(); entry($b, 'www/chain')->{data} = pem($mat, 'future.crt') . pem($mat, 'intermediate.crt');
	entry($b, 'www/key')->{data} = pem($mat, 'future.key');
	put($out, 'cert-not-yet', 'certtime', 'the leaf is valid from 2098 on', encode($b, $key));
	$b = $mk->(); entry($b, 'www/chain')->{data} = pem($mat, 'short.crt') . pem($mat, 'intermediate.crt');
	entry($b, 'www/key')->{data} = pem($mat, 'short.key');
	put($out, 'outlives-cert', 'metadata', 'bundle expires after its leaf (2090)',
	    encode($b, $key));

	spew("$out/MANIFEST", join("\n", '# FILE CHECK WHAT: generated by make-corpus.sh; CHECK is the word ' .
	    'certpull prints, "accept" marks a control', @manifest) . "\n");
}

# Cases of 256 KiB and 1 MiB: written by the test, not committed.
sub cmd_big {
	my ($key, $valid, $out) = @_;
	my $base = parse(slurp($valid));
	my $b = clone($base);
	$b->{serial} += 10;
	entry($b, 'www/chain')->{data} .= ('#' x 262144);
	put($out, 'entry-256k', 'entry', 'www/chain of 262144 + its PEM bytes (limit 262144)',
	    encode($b, $key));
	$b = clone($base); $b->{serial} += 10;
	push @{$b->{entries}}, map { { name => "pad$_/dkim", kind => 3,
	    data => 'x' x 200000 } } 1 .. 6;
	put($out, 'total-1m', 'size', 'over 1 MiB in all', encode($b, $key));
	spew("$out/MANIFEST.big", join("\n", @manifest) . "\n");
}

my $cmd = shift @ARGV // '';
if ($cmd eq 'show' && @ARGV == 1) { cmd_show(@ARGV) }
elsif ($cmd eq 'fields' && @ARGV == 1) { cmd_fields(@ARGV) }
elsif ($cmd eq 'resign-flips' && @ARGV == 3) { cmd_resign_flips(@ARGV) }
elsif ($cmd eq 'corpus' && @ARGV == 6) { cmd_corpus(@ARGV) }
elsif ($cmd eq 'big' && @ARGV == 3) { cmd_big(@ARGV) }
else { die "usage: craft.pl show|fields|resign-flips|corpus|big ARGS (see the top of the file)\n" }
