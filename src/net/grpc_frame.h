/* grpc_frame.h — the transport-free half of gRPC over HTTP/2 (private to net/).
 *
 * Implements the parts of "gRPC over HTTP2" (grpc/grpc doc/PROTOCOL-HTTP2.md) and "gRPC
 * Compression" (doc/compression.md) that do not depend on the HTTP/2 library: the
 * Length-Prefixed-Message framing of a request read across DATA chunks, the grpc-timeout,
 * grpc-encoding and content-type request headers, the percent-encoded grpc-message, and
 * the grpc-status-details-bin trailer (a base64 google.rpc.Status, google/rpc/status.proto,
 * with a google.rpc.RetryInfo, google/rpc/error_details.proto).
 *
 * Pure functions and a reader owned by its caller; any thread. */
#ifndef LT_NET_GRPC_FRAME_H
#define LT_NET_GRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Compressed-Flag (1 byte) + Message-Length (4 bytes, big endian) */
enum { GRPC_PREFIX = 5 };

/* gRPC status codes (grpc/grpc doc/statuscodes.md); the values are the wire values. */
typedef enum {
    GRPC_STATUS_OK = 0,
    GRPC_STATUS_CANCELLED = 1,
    GRPC_STATUS_UNKNOWN = 2,
    GRPC_STATUS_INVALID_ARGUMENT = 3,
    GRPC_STATUS_DEADLINE_EXCEEDED = 4,
    GRPC_STATUS_RESOURCE_EXHAUSTED = 8,
    GRPC_STATUS_UNIMPLEMENTED = 12,
    GRPC_STATUS_INTERNAL = 13,
    GRPC_STATUS_UNAVAILABLE = 14,
    GRPC_STATUS_UNAUTHENTICATED = 16,
} grpc_status;

/* Reads the one message of a unary request from its DATA bytes, however they are split.
 * The message buffer grows with the bytes that arrive (never past the declared length),
 * so a sender that declares a large message and sends little holds little. */
typedef struct {
    size_t max_len;        /* largest Message-Length accepted */
    bool allow_compressed; /* a grpc-encoding other than identity was declared */
    uint8_t state;         /* private */
    uint8_t prefix[GRPC_PREFIX];
    uint8_t prefix_have;
    bool compressed; /* the message's Compressed-Flag, once its prefix is read */
    uint32_t len;    /* its Message-Length, once its prefix is read */
    uint8_t *msg;    /* owned; lt_alloc */
    size_t have, cap;
} grpc_reader;

void grpc_reader_init(grpc_reader *r, size_t max_len, bool allow_compressed);
/* Feeds the next n bytes of the stream. 0, or (the reader then refuses more input):
 *  LT_ETOOBIG       the prefix declares a message over max_len (known before it arrives);
 *  LT_EUNSUPPORTED  Compressed-Flag 1 without a grpc-encoding (compression.md: INTERNAL);
 *  LT_EINVAL        a Compressed-Flag other than 0 or 1, or bytes after the one message;
 *  LT_ENOMEM. */
int grpc_reader_feed(grpc_reader *r, const uint8_t *p, size_t n);
/* At the end of the stream: 0 when exactly one whole message was read, LT_EINVAL when
 * there was none or it was cut short (or the reader had failed). */
int grpc_reader_finish(const grpc_reader *r);
/* Whether the reader holds a prefix read so far but not its whole message, or nothing. */
bool grpc_reader_started(const grpc_reader *r);
/* Bytes of the message still to come once its prefix has been read; 0 before that and
 * once it is complete. */
size_t grpc_reader_missing(const grpc_reader *r);
/* Gives the message (after grpc_reader_finish returned 0) to the caller, who frees it with
 * lt_free; *len is its length. NULL with *len 0 for an empty message. The reader is then
 * empty. */
uint8_t *grpc_reader_take(grpc_reader *r, size_t *len);
/* Bytes the reader's buffer takes now. */
size_t grpc_reader_held(const grpc_reader *r);
/* Frees the buffer; the reader may be initialised again. NULL-tolerant. */
void grpc_reader_free(grpc_reader *r);

/* Writes the 5-byte prefix of a message. */
void grpc_put_prefix(uint8_t out[GRPC_PREFIX], bool compressed, uint32_t len);

/* grpc-timeout: TimeoutValue (1 to 8 ASCII digits) TimeoutUnit (H M S m u n). 0 and the
 * timeout in nanoseconds (at most 99999999 hours fits in 64 bits), or LT_EINVAL. */
int grpc_parse_timeout(lt_str v, uint64_t *ns);

typedef enum { GRPC_ENC_IDENTITY, GRPC_ENC_GZIP, GRPC_ENC_OTHER } grpc_encoding;
/* grpc-encoding: absent (NULL slice) or "identity", "gzip"; anything else is OTHER. */
grpc_encoding grpc_parse_encoding(lt_str v);

typedef enum {
    GRPC_CT_PROTO,      /* application/grpc or application/grpc+proto (parameters allowed) */
    GRPC_CT_OTHER_GRPC, /* application/grpc+json and other subtypes: not protobuf */
    GRPC_CT_NOT_GRPC,   /* does not begin with application/grpc: HTTP 415 */
} grpc_content_type;
grpc_content_type grpc_parse_content_type(lt_str v);

/* Appends msg percent-encoded as grpc-message is (PROTOCOL-HTTP2.md, Percent-Encoded:
 * bytes other than %x20-%x24 / %x26-%x7E become %XX). 0 or LT_ENOMEM. */
int grpc_percent_encode(lt_buf *out, lt_str msg);

/* Appends the value of grpc-status-details-bin: unpadded base64 of a google.rpc.Status
 * {code = 1, message = 2, details = 3} whose details hold, when retry_delay_s > 0, one
 * google.protobuf.Any {type_url = 1 "type.googleapis.com/google.rpc.RetryInfo", value = 2}
 * of a google.rpc.RetryInfo {retry_delay = 1 google.protobuf.Duration {seconds = 1}}.
 * 0 or LT_ENOMEM. */
int grpc_status_details(lt_buf *out, grpc_status code, lt_str msg, uint32_t retry_delay_s);

#endif
