/* Macros cppcheck cannot see (it does not read system headers): given here
 * as they are defined, so that make lint parses the code that uses them. */
#define cJSON_ArrayForEach(element, array)                                                                             \
    for (element = (array != NULL) ? (array)->child : NULL; element != NULL; element = element->next)
