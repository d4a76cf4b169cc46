/* err.h — the one error type of llmtrace.
 *
 * Every fallible function returns 0 on success or one of these negative codes.
 * Codes say what a caller can do about the failure (retry, reject the input, give up),
 * which is what the receivers need to pick an HTTP or gRPC status. */
#ifndef LT_CORE_ERR_H
#define LT_CORE_ERR_H

enum {
    LT_OK = 0,
    LT_ENOMEM = -1,       /* allocation failed; retryable by the sender */
    LT_EINVAL = -2,       /* malformed input; never retryable */
    LT_ETOOBIG = -3,      /* a limit was exceeded (size, depth, count) */
    LT_EIO = -4,          /* storage or file I/O failed; retryable */
    LT_ENOTFOUND = -5,    /* no such object */
    LT_EUNSUPPORTED = -6, /* recognised but not supported */
    LT_EBUSY = -7,        /* overloaded right now; retryable */
    LT_EFULL = -8,        /* disk full; retryable after space is freed */
};

/* Returns a static, human-readable description of an error code. */
const char *lt_strerror(int code);

#endif
