/* A C program using the Ananke ABI end to end: extract, check, compile, and walk a checker's masks. Built with
 * `cc -Wall -Wextra -Werror` against the static library and run under valgrind by tests/c_abi.rs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ananke.h"

#define CHECK(call)                                                                 \
    do {                                                                            \
        ananke_status status_ = (call);                                             \
        if (status_ != ANANKE_STATUS_OK) {                                          \
            char message_[512];                                                     \
            ananke_last_error(message_, sizeof message_, NULL);                     \
            fprintf(stderr, "%s:%d: %s failed (%u): %s\n", __FILE__, __LINE__,       \
                    #call, (unsigned)status_, message_);                            \
            return 1;                                                               \
        }                                                                           \
    } while (0)

static const char *CODE =
    "pub fn parse_port(text: &str) -> Result<u16, std::num::ParseIntError> {\n"
    "    text.trim().parse()\n"
    "}\n";

static const char *BAD =
    "pub fn parseThing(text: &str) -> u16 {\n"
    "    text.parse().unwrap()\n"
    "}\n";

static const char *SET =
    "{\"format\": \"ananke.constraints\", \"version\": 1, \"constraints\": ["
    "{\"kind\": \"semantic\", \"severity\": \"error\", \"provenance\": {\"source\": \"user\"},"
    " \"rule\": {\"type\": \"forbid_call\", \"callee\": \"unwrap\"}}]}";

static bool contains(const uint8_t *data, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(data + i, needle, n) == 0) return true;
    }
    return false;
}

int main(void) {
    printf("ananke %s\n", ananke_version());

    /* Errors: NULL arguments are reported, not crashed on, and the message can be read back. */
    if (ananke_extract(NULL, 1, NULL) != ANANKE_STATUS_NULL_PARAMETER) return 2;
    size_t needed = 0;
    char tiny[2];
    if (ananke_last_error(tiny, sizeof tiny, &needed) != ANANKE_STATUS_BUFFER_TOO_SMALL || needed < 3) return 3;

    /* Extract. */
    ananke_source source = {(const uint8_t *)"src/net.rs", 10, (const uint8_t *)CODE, strlen(CODE)};
    ananke_buffer *set = NULL;
    CHECK(ananke_extract(&source, 1, &set));
    const uint8_t *data = NULL;
    size_t len = 0;
    CHECK(ananke_buffer_data(set, &data, &len));
    if (!contains(data, len, "crate::net::parse_port")) return 4;
    ananke_buffer_free(set);

    /* Check a batch: one violating file, one clean. */
    ananke_source batch[2] = {
        {(const uint8_t *)"src/bad.rs", 10, (const uint8_t *)BAD, strlen(BAD)},
        {(const uint8_t *)"src/net.rs", 10, (const uint8_t *)CODE, strlen(CODE)},
    };
    ananke_buffer *report = NULL;
    CHECK(ananke_check((const uint8_t *)SET, strlen(SET), batch, 2, &report));
    CHECK(ananke_buffer_data(report, &data, &len));
    if (!contains(data, len, "\"errors\":1")) return 5;
    ananke_buffer_free(report);

    /* Malformed JSON is an input error with a message. */
    ananke_buffer *none = NULL;
    if (ananke_check((const uint8_t *)"{", 1, batch, 2, &none) != ANANKE_STATUS_INVALID_INPUT || none != NULL) return 6;

    /* Compile a fn body and walk its masks on cl100k. */
    const char *options = "{\"target\": \"fn-body\", \"signature\": \"pub fn double(x: u32) -> u32\"}";
    ananke_buffer *ir = NULL;
    CHECK(ananke_compile((const uint8_t *)SET, strlen(SET), (const uint8_t *)options, strlen(options), &ir));
    CHECK(ananke_buffer_data(ir, &data, &len));
    ananke_vocab *vocab = NULL;
    CHECK(ananke_vocab_from_tiktoken((const uint8_t *)"cl100k", 6, &vocab));
    size_t tokens = 0;
    CHECK(ananke_vocab_len(vocab, &tokens));
    ananke_checker *checkers[2] = {NULL, NULL};
    CHECK(ananke_checker_new(data, len, vocab, &checkers[0]));
    CHECK(ananke_checker_new(data, len, vocab, &checkers[1]));
    ananke_buffer_free(ir);
    ananke_vocab_free(vocab); /* the checkers keep their own reference */

    size_t words = (tokens + 31) / 32;
    uint32_t *masks = calloc(2 * words, sizeof *masks);
    if (masks == NULL) return 7;
    CHECK(ananke_checker_masks(checkers, 2, masks, words));
    size_t allowed = 0;
    for (size_t i = 0; i < words; i++) allowed += (size_t)__builtin_popcount(masks[i]);
    if (allowed == 0 || allowed == tokens) return 8;

    /* An allowed token advances; a token the mask forbids is refused with a reason. */
    uint32_t first = 0;
    while (!(masks[first / 32] >> (first % 32) & 1u)) first++;
    CHECK(ananke_checker_commit(checkers[0], first));
    uint32_t refused = 0;
    while (masks[refused / 32] >> (refused % 32) & 1u) refused++;
    if (ananke_checker_commit(checkers[1], refused) != ANANKE_STATUS_TOKEN_NOT_ALLOWED) return 9;
    bool accepting = true;
    CHECK(ananke_checker_is_accepting(checkers[1], &accepting));
    if (accepting) return 10;

    /* The same checker twice in a batch is refused. */
    ananke_checker *twice[2] = {checkers[0], checkers[0]};
    if (ananke_checker_masks(twice, 2, masks, words) != ANANKE_STATUS_INVALID_INPUT) return 11;

    free(masks);
    ananke_checker_free(checkers[0]);
    ananke_checker_free(checkers[1]);
    ananke_checker_free(NULL);
    puts("ok");
    return 0;
}
