/* json_text.h — JSON text that JSON parsers accept.
 *
 * Google Benchmark writes NaN and Infinity (e.g. the coefficient of variation
 * of a counter that never changes) as bare words, which JSON does not have:
 * cJSON, jq and most readers reject the file. ckbench writes its result files
 * with those values as null (Python's json, which Google Benchmark's
 * compare.py uses, reads null too) and reads older files through the same
 * filter. */
#ifndef CK_JSON_TEXT_H
#define CK_JSON_TEXT_H

/* A malloc'd copy of `text` with every bare word outside strings other than
 * true, false and null (NaN, Infinity, -Infinity, -inf ...) replaced by null;
 * NULL when out of memory. */
char *ck_json_nonfinite_to_null(const char *text);

#endif
