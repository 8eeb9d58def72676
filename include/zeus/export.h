/*
 * zeus/export.h - ZEUS_API marks the functions the shared library exports.
 *
 * The library is built with hidden visibility; only ZEUS_API symbols are public.
 */
#ifndef ZEUS_EXPORT_H
#define ZEUS_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define ZEUS_API __attribute__((visibility("default")))
#else
#define ZEUS_API
#endif

#endif /* ZEUS_EXPORT_H */
