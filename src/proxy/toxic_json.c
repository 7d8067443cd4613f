/* SPDX-License-Identifier: MIT */
/* Toxic attributes and the toxic JSON: lookups by name, decoding in AddToxicJson's order of
 * checks with Go's error texts, merge-on-update, validation of bad values, and the wrapper
 * shape Toxiproxy emits. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy_int.h"
#include "util/str.h"

/* ---- attribute access ---- */

int tt__px_attr_index(const struct px_toxic_type *type, const char *name)
{
    for (size_t i = 0; i < type->nattrs; i++) {
        if (strcmp(type->attrs[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static const union px_attr_val *attr_get(const struct px_toxic *t, const char *name)
{
    int i = tt__px_attr_index(t->type, name);
    /* Every caller names an attribute its own type declares. */
    return i >= 0 ? &t->attrs[i] : NULL;
}

int64_t tt__px_attr_i(const struct px_toxic *t, const char *name)
{
    const union px_attr_val *v = attr_get(t, name);
    return v ? v->i : 0;
}

double tt__px_attr_f(const struct px_toxic *t, const char *name)
{
    const union px_attr_val *v = attr_get(t, name);
    return v ? v->f : 0;
}

bool tt__px_attr_b(const struct px_toxic *t, const char *name)
{
    const union px_attr_val *v = attr_get(t, name);
    return v ? v->b : false;
}

const char *tt__px_attr_e(const struct px_toxic *t, const char *name)
{
    int i = tt__px_attr_index(t->type, name);
    if (i < 0) {
        return "";
    }
    return t->type->attrs[i].choices[t->attrs[i].e];
}

/* ---- decoding ---- */

struct px_toxic *tt__px_toxic_find(const struct tt__list *toxics, const char *name)
{
    for (const struct tt__list *n = toxics->next; n != toxics; n = n->next) {
        struct px_toxic *t =
            tt__container_of((struct tt__list *)(uintptr_t)n, struct px_toxic, link);
        if (strcmp(t->name, name) == 0) {
            return t;
        }
    }
    return NULL;
}

static void bad_body(struct px_err *err, const char *detail)
{
    tt__px_err_set(err, 400, "bad request body: %s", detail);
}

/* A key of `attributes` the type does not have. Toxiproxy's decoder ignores it, so a typo
 * ("latncy") silently leaves the default in place and the test passes for the wrong reason;
 * here it is a 400 naming the key, the closest attribute and every valid one. Keys compare
 * case-insensitively, as the decoder matches them. */
static int attrs_reject_unknown(const struct px_toxic_type *type, const json_t *attrs,
                                struct px_err *err)
{
    for (void *it = json_object_iter((json_t *)(uintptr_t)attrs); it;
         it = json_object_iter_next((json_t *)(uintptr_t)attrs, it)) {
        const char *key = json_object_iter_key(it);
        const char *names[PX_MAX_ATTRS];
        bool known = false;
        for (size_t i = 0; i < type->nattrs; i++) {
            names[i] = type->attrs[i].name;
            known = known || strcasecmp(names[i], key) == 0;
        }
        if (known) {
            continue;
        }
        if (type->nattrs == 0) {
            tt__px_err_set(err, 400,
                           "bad request body: unknown %s attribute \"%.64s\": %s takes none",
                           type->name, key, type->name);
            return TETHER_EINVAL;
        }
        char hint[96] = "";
        const char *best = ttx_closest(key, names, type->nattrs);
        if (best) {
            (void)snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", best);
        }
        char list[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < type->nattrs; i++) {
            int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
            if (w < 0 || (size_t)w >= sizeof(list) - used) {
                break;
            }
            used += (size_t)w;
        }
        tt__px_err_set(err, 400, "bad request body: unknown %s attribute \"%.64s\"%s; valid: %s",
                       type->name, key, hint, list);
        return TETHER_EINVAL;
    }
    return 0;
}

/* The unit a bound implies, so the range reads as what it is ("366 days in ms"). */
static const char *attr_unit(int64_t max)
{
    return max == PX_MAX_MS ? " (366 days in ms)" : max == PX_MAX_US ? " (366 days in us)" : "";
}

/* Decodes `attributes` into `vals` (which hold the current or default values: decoding
 * merges, as Go decodes into the existing struct), then checks every value. */
static int attrs_decode(const struct px_toxic_type *type, const json_t *attrs,
                        union px_attr_val *vals, struct px_err *err)
{
    struct pj_field fields[PX_MAX_ATTRS];
    int64_t ints[PX_MAX_ATTRS];
    double floats[PX_MAX_ATTRS];
    bool bools[PX_MAX_ATTRS];
    const char *strs[PX_MAX_ATTRS];
    bool present[PX_MAX_ATTRS];
    char detail[400];
    if (attrs && attrs_reject_unknown(type, attrs, err) != 0) {
        return TETHER_EINVAL;
    }
    for (size_t i = 0; i < type->nattrs; i++) {
        const struct px_attr_def *a = &type->attrs[i];
        present[i] = false;
        fields[i].name = a->name;
        fields[i].present = &present[i];
        switch (a->kind) {
        case PX_ATTR_INT:
            ints[i] = vals[i].i;
            fields[i].kind = PJ_INT64;
            fields[i].dst = &ints[i];
            break;
        case PX_ATTR_FLOAT:
            floats[i] = vals[i].f;
            fields[i].kind = PJ_FLOAT64;
            fields[i].dst = &floats[i];
            break;
        case PX_ATTR_BOOL:
            bools[i] = vals[i].b;
            fields[i].kind = PJ_BOOL;
            fields[i].dst = &bools[i];
            break;
        case PX_ATTR_ENUM:
            strs[i] = a->choices[vals[i].e];
            fields[i].kind = PJ_STRING;
            fields[i].dst = &strs[i];
            break;
        }
    }
    if (attrs &&
        tt__pj_decode(attrs, type->go_type, fields, type->nattrs, detail, sizeof(detail)) != 0) {
        bad_body(err, detail);
        return TETHER_EINVAL;
    }
    union px_attr_val out[PX_MAX_ATTRS];
    for (size_t i = 0; i < type->nattrs; i++) {
        const struct px_attr_def *a = &type->attrs[i];
        switch (a->kind) {
        case PX_ATTR_INT:
            if (ints[i] < a->min_i || ints[i] > a->max_i) {
                tt__px_err_set(err, 400,
                               "bad request body: invalid %s %s %lld: must be between %lld and "
                               "%lld%s",
                               type->name, a->name, (long long)ints[i], (long long)a->min_i,
                               (long long)a->max_i, attr_unit(a->max_i));
                return TETHER_EINVAL;
            }
            out[i].i = ints[i];
            break;
        case PX_ATTR_FLOAT:
            /* Every float attribute is a probability; outside [0, 1] it used to be clamped
             * silently, hiding a percentage written as 5 for 0.05. */
            if (!(floats[i] >= 0.0 && floats[i] <= 1.0)) {
                tt__px_err_set(err, 400,
                               "bad request body: invalid %s %s %g: must be between 0 and 1",
                               type->name, a->name, floats[i]);
                return TETHER_EINVAL;
            }
            out[i].f = floats[i];
            break;
        case PX_ATTR_BOOL:
            out[i].b = bools[i];
            break;
        case PX_ATTR_ENUM: {
            int found = -1;
            for (int k = 0; a->choices[k]; k++) {
                if (strcasecmp(a->choices[k], strs[i]) == 0) {
                    found = k;
                    break;
                }
            }
            if (found < 0) {
                char list[128] = "";
                size_t used = 0;
                for (int k = 0; a->choices[k]; k++) {
                    int w = snprintf(list + used, sizeof(list) - used, "%s%s", k ? ", " : "",
                                     a->choices[k]);
                    if (w < 0 || (size_t)w >= sizeof(list) - used) {
                        break;
                    }
                    used += (size_t)w;
                }
                tt__px_err_set(err, 400,
                               "bad request body: invalid %s %s \"%.64s\": must be one of %s",
                               type->name, a->name, strs[i], list);
                return TETHER_EINVAL;
            }
            out[i].e = found;
            break;
        }
        }
    }
    if (type->validate && type->validate(out, detail, sizeof(detail)) != 0) {
        bad_body(err, detail);
        return TETHER_EINVAL;
    }
    memcpy(vals, out, sizeof(out[0]) * type->nattrs);
    return 0;
}

/* toxicity is a probability: Toxiproxy takes any float32, where a negative one silently
 * never applies and 2 silently always does; a value outside [0, 1] is a mistake to name. */
static int toxicity_check(float toxicity, struct px_err *err)
{
    if (!(toxicity >= 0.0f && toxicity <= 1.0f)) {
        tt__px_err_set(err, 400, "bad request body: invalid toxicity %g: must be between 0 and 1",
                       (double)toxicity);
        return TETHER_EINVAL;
    }
    return 0;
}

static char *dup_str(const char *s)
{
    return tt__strndup(s, strlen(s));
}

/* `attributes` as Go decodes it: null is absent, anything but an object is the decoder's
 * error, worded with the Go field and type it was decoding into. */
static int toxic_attrs_check(const json_t **attrs, const char *field, const char *go_type,
                             struct px_err *err)
{
    if (*attrs && json_is_null(*attrs)) {
        *attrs = NULL;
    }
    if (*attrs && !json_is_object(*attrs)) {
        char detail[400];
        (void)snprintf(detail, sizeof(detail),
                       "json: cannot unmarshal %s into Go struct field %s of type toxics.%s",
                       tt__pj_kind_name(*attrs), field, go_type);
        bad_body(err, detail);
        return TETHER_EINVAL;
    }
    return 0;
}

int tt__px_toxic_from_json(const json_t *v, const struct tt__list *existing, struct px_toxic **out,
                           struct px_err *err)
{
    const char *name = "", *type_name = "", *stream = "downstream";
    float toxicity = 1.0f;
    const json_t *attrs = NULL;
    char detail[400];
    const struct pj_field fields[] = {
        {"name", PJ_STRING, &name, NULL},     {"type", PJ_STRING, &type_name, NULL},
        {"stream", PJ_STRING, &stream, NULL}, {"toxicity", PJ_FLOAT32, &toxicity, NULL},
        {"attributes", PJ_RAW, &attrs, NULL},
    };
    *out = NULL;
    if (tt__pj_decode(v, "toxics.ToxicWrapper", fields, tt__countof(fields), detail,
                      sizeof(detail)) != 0) {
        bad_body(err, detail);
        return TETHER_EINVAL;
    }
    if (toxicity_check(toxicity, err) != 0) {
        return TETHER_EINVAL;
    }
    /* The first decode runs into a NoopToxic, so this fails before the stream check. */
    if (toxic_attrs_check(&attrs, "ToxicWrapper.attributes", "NoopToxic", err) != 0) {
        return TETHER_EINVAL;
    }
    enum px_dir dir;
    if (strcasecmp(stream, "upstream") == 0) {
        dir = PX_UP;
    } else if (strcasecmp(stream, "downstream") == 0) {
        dir = PX_DOWN;
    } else {
        tt__px_err_set(err, 400, "stream was invalid, can be either upstream or downstream");
        return TETHER_EINVAL;
    }
    char defname[300];
    if (name[0] == '\0') {
        (void)snprintf(defname, sizeof(defname), "%s_%s", type_name, stream);
        name = defname;
    }
    const struct px_toxic_type *type = tt__px_type_find(type_name);
    if (!type) {
        tt__px_type_error(type_name, detail, sizeof(detail));
        tt__px_err_set(err, 400, "%s", detail);
        return TETHER_EINVAL;
    }
    if (tt__px_toxic_find(existing, name)) {
        tt__px_err_set(err, 409, "toxic already exists");
        return TETHER_EINVAL;
    }
    union px_attr_val vals[PX_MAX_ATTRS];
    memset(vals, 0, sizeof(vals));
    int rv = attrs_decode(type, attrs, vals, err);
    if (rv != 0) {
        return rv;
    }
    struct px_toxic *t = tt__calloc(1, sizeof(*t));
    if (!t) {
        tt__px_err_set(err, 500, "out of memory");
        return TETHER_ENOMEM;
    }
    tt__list_init(&t->link);
    t->type = type;
    t->dir = dir;
    t->toxicity = toxicity;
    t->name = dup_str(name);
    t->stream = dup_str(stream);
    memcpy(t->attrs, vals, sizeof(vals));
    if (!t->name || !t->stream) {
        tt__px_toxic_free(t);
        tt__px_err_set(err, 500, "out of memory");
        return TETHER_ENOMEM;
    }
    *out = t;
    return 0;
}

int tt__px_toxic_update_json(struct px_toxic *t, const json_t *v, struct px_err *err)
{
    float toxicity = t->toxicity;
    const json_t *attrs = NULL;
    char detail[400];
    const struct pj_field fields[] = {
        {"attributes", PJ_RAW, &attrs, NULL},
        {"toxicity", PJ_FLOAT32, &toxicity, NULL},
    };
    if (tt__pj_decode(v, "struct { Attributes interface {}; Toxicity float32 }", fields,
                      tt__countof(fields), detail, sizeof(detail)) != 0) {
        bad_body(err, detail);
        return TETHER_EINVAL;
    }
    if (toxicity_check(toxicity, err) != 0) {
        return TETHER_EINVAL;
    }
    if (toxic_attrs_check(&attrs, ".attributes", t->type->go_type, err) != 0) {
        return TETHER_EINVAL;
    }
    union px_attr_val vals[PX_MAX_ATTRS];
    memcpy(vals, t->attrs, sizeof(vals));
    int rv = attrs_decode(t->type, attrs, vals, err);
    if (rv != 0) {
        return rv;
    }
    memcpy(t->attrs, vals, sizeof(vals));
    t->toxicity = toxicity;
    return 0;
}

void tt__px_toxic_json(struct pj_w *w, const struct px_toxic *t)
{
    bool first = true;
    tt__pj_raw(w, "{");
    tt__pj_key(w, &first, "attributes");
    tt__pj_raw(w, "{");
    bool afirst = true;
    for (size_t i = 0; i < t->type->nattrs; i++) {
        const struct px_attr_def *a = &t->type->attrs[i];
        tt__pj_key(w, &afirst, a->name);
        switch (a->kind) {
        case PX_ATTR_INT:
            tt__pj_fmt(w, "%lld", (long long)t->attrs[i].i);
            break;
        case PX_ATTR_FLOAT:
            tt__pj_float64(w, t->attrs[i].f);
            break;
        case PX_ATTR_BOOL:
            tt__pj_raw(w, t->attrs[i].b ? "true" : "false");
            break;
        case PX_ATTR_ENUM:
            tt__pj_str(w, a->choices[t->attrs[i].e]);
            break;
        }
    }
    tt__pj_raw(w, "}");
    tt__pj_key(w, &first, "name");
    tt__pj_str(w, t->name);
    tt__pj_key(w, &first, "type");
    tt__pj_str(w, t->type->name);
    tt__pj_key(w, &first, "stream");
    tt__pj_str(w, t->stream);
    tt__pj_key(w, &first, "toxicity");
    tt__pj_float32(w, t->toxicity);
    tt__pj_raw(w, "}");
}

void tt__px_toxic_free(struct px_toxic *t)
{
    if (!t) {
        return;
    }
    tt__free(t->name);
    tt__free(t->stream);
    tt__free(t);
}
