/* policy_sha256.c - SHA-256 (FIPS 180-4), self-contained so the policy
 * library needs nothing but libyaml; used for policy revision ids. */
#include "policy_internal.h"

#include <string.h>

typedef struct {
    uint32_t state[8];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[64];
    size_t used;
} sha256_t;

static const uint32_t s_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t s_rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void s_compress(sha256_t *self, const uint8_t *block)
{
    uint32_t w[64];
    for (size_t i = 0; i < 16; i++)
        w[i] = (uint32_t)block[i * 4] << 24 | (uint32_t)block[i * 4 + 1] << 16 |
               (uint32_t)block[i * 4 + 2] << 8 | (uint32_t)block[i * 4 + 3];
    for (size_t i = 16; i < 64; i++) {
        uint32_t s0 =
            s_rotr(w[i - 15], 7) ^ s_rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 =
            s_rotr(w[i - 2], 17) ^ s_rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = self->state[0], b = self->state[1], c = self->state[2],
             d = self->state[3], e = self->state[4], f = self->state[5],
             g = self->state[6], h = self->state[7];
    for (size_t i = 0; i < 64; i++) {
        uint32_t s1 = s_rotr(e, 6) ^ s_rotr(e, 11) ^ s_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + s1 + ch + s_k[i] + w[i];
        uint32_t s0 = s_rotr(a, 2) ^ s_rotr(a, 13) ^ s_rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = s0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    self->state[0] += a;
    self->state[1] += b;
    self->state[2] += c;
    self->state[3] += d;
    self->state[4] += e;
    self->state[5] += f;
    self->state[6] += g;
    self->state[7] += h;
}

static void s_update(sha256_t *self, const uint8_t *data, size_t len)
{
    self->length += len;
    while (len > 0) {
        size_t take = 64 - self->used;
        if (take > len)
            take = len;
        memcpy(self->block + self->used, data, take);
        self->used += take;
        data += take;
        len -= take;
        if (self->used == 64) {
            s_compress(self, self->block);
            self->used = 0;
        }
    }
}

void policy_sha256_buffer(const void *data, size_t len, char out[65])
{
    sha256_t ctx = {.state = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                              0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}};
    s_update(&ctx, data, len);
    uint64_t bits = ctx.length * 8;
    uint8_t pad = 0x80;
    s_update(&ctx, &pad, 1);
    pad = 0;
    while (ctx.used != 56)
        s_update(&ctx, &pad, 1);
    uint8_t tail[8];
    for (size_t i = 0; i < 8; i++)
        tail[i] = (uint8_t)(bits >> (56 - 8 * i));
    s_update(&ctx, tail, 8);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 8; i++)
        for (size_t j = 0; j < 4; j++) {
            uint8_t byte = (uint8_t)(ctx.state[i] >> (24 - 8 * j));
            out[i * 8 + j * 2] = hex[byte >> 4];
            out[i * 8 + j * 2 + 1] = hex[byte & 0x0f];
        }
    out[64] = '\0';
}
