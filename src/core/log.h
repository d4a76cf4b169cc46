/* log.h — one-line log messages to stderr, safe from any thread.
 *
 * Lines look like `2026-11-21T19:20:00.123Z warn  message`. Never log secrets (tokens,
 * message content): callers pass only what an operator may see. */
#ifndef LT_CORE_LOG_H
#define LT_CORE_LOG_H

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Messages below this level are dropped; default LOG_INFO. */
void log_set_level(int level);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
