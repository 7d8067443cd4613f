/* SPDX-License-Identifier: MIT */
/* Generates a self-signed certificate and key at test time, so no key material is checked in
 * and nothing expires in the repository. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs.h"

static int certs_add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext) {
        return -1;
    }
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static X509 *certs_make_x509(EVP_PKEY *pkey)
{
    X509 *x = X509_new();
    if (!x) {
        return NULL;
    }
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_set_version(x, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || X509_set_pubkey(x, pkey) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 ||
        certs_add_ext(x, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
        certs_add_ext(x, NID_subject_key_identifier, "hash") != 0 ||
        certs_add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") != 0 ||
        X509_sign(x, pkey, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int tt_test_certs_create(struct tt_test_certs *c)
{
    const char *tmp = getenv("TMPDIR");
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    FILE *f = NULL;
    int rv = -1;
    memset(c, 0, sizeof(*c));
    if (!tmp || !tmp[0]) {
        tmp = "/tmp";
    }
    int n = snprintf(c->dir, sizeof(c->dir), "%s/tether-certs-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof(c->dir) || !mkdtemp(c->dir)) {
        c->dir[0] = '\0';
        return -1;
    }
    (void)snprintf(c->cert_file, sizeof(c->cert_file), "%s/cert.pem", c->dir);
    (void)snprintf(c->key_file, sizeof(c->key_file), "%s/key.pem", c->dir);
    pkey = EVP_EC_gen("P-256");
    if (!pkey || !(x = certs_make_x509(pkey))) {
        goto done;
    }
    if (!(f = fopen(c->key_file, "w")) ||
        PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        goto done;
    }
    if (fclose(f) != 0) {
        f = NULL;
        goto done;
    }
    if (!(f = fopen(c->cert_file, "w")) || PEM_write_X509(f, x) != 1) {
        goto done;
    }
    if (fclose(f) != 0) {
        f = NULL;
        goto done;
    }
    f = NULL;
    rv = 0;
done:
    if (f) {
        (void)fclose(f);
    }
    X509_free(x);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    if (rv != 0) {
        tt_test_certs_remove(c);
    }
    return rv;
}

void tt_test_certs_remove(struct tt_test_certs *c)
{
    if (!c->dir[0]) {
        return;
    }
    (void)unlink(c->cert_file);
    (void)unlink(c->key_file);
    (void)rmdir(c->dir);
    memset(c, 0, sizeof(*c));
}
