/* mnist_data.c: see mnist_data.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mnist_data.h"

int mnist_load(const char *prog, const char *dir, jx_idx_split *train, jx_idx_split *test) {
    struct stat st;
    const char *hint = "install Fashion-MNIST with `apt-get install dataset-fashion-mnist`, "
                       "or pass\n  --data DIR, a directory holding "
                       "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]";
    int sr = stat(dir, &st), e = errno;
    if (sr != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: data directory %s: %s\n  %s\n", prog, dir, sr != 0 ? strerror(e) : "not a directory",
                hint);
        return -1;
    }
    char err[JX_IDX_ERR_MAX];
    if (jx_idx_load_split(dir, "train", train, err, sizeof err) != 0 ||
        jx_idx_load_split(dir, "t10k", test, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n  %s\n", prog, err, hint);
        jx_idx_split_free(train);
        return -1;
    }
    for (int s = 0; s < 2; s++) {
        const int64_t *shape = jx_array_shape((s ? test : train)->images);
        if (shape[0] == 0 || shape[1] * shape[2] != MNIST_PIXELS) {
            fprintf(stderr, "%s: %s/%s-images: %lld images of %lldx%lld, the model wants at least one of 28x28\n",
                    prog, dir, s ? "t10k" : "train", (long long)shape[0], (long long)shape[1], (long long)shape[2]);
            jx_idx_split_free(train);
            jx_idx_split_free(test);
            return -1;
        }
        /* a label outside 0..9 would silently be a wrong one-hot row */
        if (jx_idx_check_labels((s ? test : train)->labels, MNIST_CLASSES, s ? "t10k-labels" : "train-labels",
                             err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s/%s\n", prog, dir, err);
            jx_idx_split_free(train);
            jx_idx_split_free(test);
            return -1;
        }
    }
    return 0;
}

int mnist_main(const char *prog, const char *dir,
               int (*train)(const void *opts, const jx_idx_split *train, const jx_idx_split *test), const void *opts) {
    jx_idx_split train_set = {0}, test_set = {0};
    if (mnist_load(prog, dir, &train_set, &test_set) != 0) return 1;
    int rc = train(opts, &train_set, &test_set);
    rc = rc == 0 || rc == 130 ? rc : 1;
    jx_idx_split_free(&train_set);
    jx_idx_split_free(&test_set);
    return rc;
}

jx_array *mnist_images(const jx_array *images, const int64_t *idx, int64_t first, int64_t n, jx_ints shape) {
    jx_array *a = jx_array_zeros(JX_F32, shape);
    if (!a) return NULL;
    const uint8_t *src = jx_array_data(images);
    float *d = jx_array_data_mut(a);
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *img = src + (idx ? idx[first + i] : first + i) * MNIST_PIXELS;
        for (int p = 0; p < MNIST_PIXELS; p++) d[i * MNIST_PIXELS + p] = (float)img[p] / 255.0f;
    }
    return a;
}

jx_array *mnist_labels(const jx_array *labels, const int64_t *idx, int64_t first, int64_t n, int onehot) {
    jx_array *a = onehot ? jx_array_zeros(JX_F32, JX_INTS(n, MNIST_CLASSES)) : jx_array_zeros(JX_I32, JX_INTS(n));
    if (!a) return NULL;
    const uint8_t *src = jx_array_data(labels);
    for (int64_t i = 0; i < n; i++) {
        int c = src[idx ? idx[first + i] : first + i] % MNIST_CLASSES;
        if (onehot)
            ((float *)jx_array_data_mut(a))[i * MNIST_CLASSES + c] = 1.0f;
        else
            ((int32_t *)jx_array_data_mut(a))[i] = c;
    }
    return a;
}

jx_status mnist_batches_new(const jx_idx_split *train, int64_t ntrain, int64_t batch, const jx_array *key, jx_ints row,
                            int onehot, int shards, int shard, jx_batches **out) {
    *out = NULL;
    jx_batch_field f[2] = {{train->images, JX_BATCH_U8_UNIT, row, 0},
                           {train->labels, onehot ? JX_BATCH_ONEHOT : JX_BATCH_I32, JX_NOINTS, MNIST_CLASSES}};
    jx_array *keys = jx_random_split_new(key, 2);
    if (!keys) return jx_errcode();
    const uint32_t *k = (const uint32_t *)jx_array_data(keys) + 2;
    jx_batches_opts o = {.batch = batch, .shuffle = 1, .seed = (uint64_t)k[0] << 32 | k[1], .nsubset = ntrain,
                         .prefetch = 2, .shards = shards, .shard = shard};
    jx_status st = jx_batches_new(f, 2, jx_array_shape(train->labels)[0], &o, out);
    jx_array_release(keys);
    return st;
}

/* splitmix64: a well-mixed 64-bit value of a counter. */
static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void mnist_shift_images(jx_array *x, int max_shift, uint64_t seed, int64_t first_row) {
    if (max_shift <= 0) return;
    enum { S = 28 };
    float *d = jx_array_data_mut(x), tmp[S * S];
    int64_t n = jx_array_shape(x)[0];
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = mix64(seed ^ mix64((uint64_t)(first_row + i)));
        int dy = (int)(r % (uint64_t)(2 * max_shift + 1)) - max_shift;
        int dx = (int)((r >> 32) % (uint64_t)(2 * max_shift + 1)) - max_shift;
        if (!dy && !dx) continue;
        float *img = d + i * S * S;
        memcpy(tmp, img, sizeof tmp);
        for (int y = 0; y < S; y++)
            for (int c = 0; c < S; c++) {
                int sy = y - dy, sx = c - dx;
                img[y * S + c] = sy >= 0 && sy < S && sx >= 0 && sx < S ? tmp[sy * S + sx] : 0.0f;
            }
    }
}

const char *const *mnist_class_names(const char *dir) {
    static const char *const fashion[MNIST_CLASSES] = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                                       "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Boot"};
    return strstr(dir, "fashion") ? fashion : NULL;
}
