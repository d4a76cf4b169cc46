/* err.c — descriptions of the error codes in err.h. */
#include "core/err.h"

const char *lt_strerror(int code)
{
    switch (code) {
    case LT_OK:
        return "ok";
    case LT_ENOMEM:
        return "out of memory";
    case LT_EINVAL:
        return "invalid input";
    case LT_ETOOBIG:
        return "limit exceeded";
    case LT_EIO:
        return "I/O error";
    case LT_ENOTFOUND:
        return "not found";
    case LT_EUNSUPPORTED:
        return "not supported";
    case LT_EBUSY:
        return "busy";
    case LT_EFULL:
        return "storage full";
    }
    return "unknown error";
}
