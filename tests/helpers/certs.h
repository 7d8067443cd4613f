/* SPDX-License-Identifier: MIT */
/* Test-time TLS material: a fresh self-signed certificate and key for "localhost". */
#ifndef TETHER_TEST_CERTS_H
#define TETHER_TEST_CERTS_H

/* Paths of the generated files, all inside `dir`. */
struct tt_test_certs {
    char dir[256];
    char cert_file[320]; /* PEM certificate, also usable as the client's CA file */
    char key_file[320];  /* PEM private key (unencrypted) */
};

/*
 * Generates an EC P-256 key and a self-signed X.509 v3 certificate (CN=localhost,
 * subjectAltName DNS:localhost, IP:127.0.0.1, valid from one hour ago for one day) into a new
 * mkdtemp directory under $TMPDIR (or /tmp). `c` is borrowed. Returns 0, or -1 with nothing
 * left on disk.
 */
int tt_test_certs_create(struct tt_test_certs *c);

/* Deletes the files and the directory. Harmless on a zeroed struct. */
void tt_test_certs_remove(struct tt_test_certs *c);

#endif
