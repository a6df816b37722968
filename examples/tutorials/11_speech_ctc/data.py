"""The utterances and initial weights of 11_speech_ctc, as utterances.c and speech_ctc.c
make them: synthetic "speech" where each phoneme (labels 1..8; 0 is CTC's blank) is a
pair of formants on a 16-bin spectrogram, held for a jittered number of frames, with
jittered loudness and pitch shift, silent gaps and Gaussian noise."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import numpy as np  # noqa: E402
import ctc  # noqa: E402
import tut  # noqa: E402

T, F, K, LMAX = 48, 16, 8, 5          # frames, frequency bins, phonemes, labels at most
C, CONV, KW, H = K + 1, 32, 5, 32     # classes (blank 0), conv channels, conv width, GRU units
DRAWS = 2 + 5 * LMAX                  # uniforms per utterance
FORMANTS = np.array([[2, 8], [2, 12], [4, 10], [4, 14], [6, 9], [6, 13], [3, 15], [7, 11]], np.float64)


def utterances(seed, n):
    """(x (n,T,F) f32, labels (n,LMAX) i32 padded with 0, lengths (n) i32)."""
    u = tut.uniform(seed, n * DRAWS).astype(np.float64).reshape(n, DRAWS)
    noise = tut.normal(seed + 1, n * T * F).astype(np.float64).reshape(n, T, F)
    spec = np.zeros((n, T, F))
    labels, lengths = np.zeros((n, LMAX), np.int32), np.zeros(n, np.int32)
    bins = np.arange(F, dtype=np.float64)
    for i in range(n):
        d = u[i]
        length = 2 + int(d[0] * (LMAX - 1))
        t, prev = int(d[1] * 5), -1
        for j in range(length):
            label, dur, gap, amp, shift = d[2 + 5 * j:7 + 5 * j]
            k = int(label * (K - 1))
            k = k + 1 if prev >= 0 and k >= prev else k
            k = int(label * K) if prev < 0 else k
            prev = k
            frames = 3 + int(dur * 4)
            f1, f2 = FORMANTS[k] + (shift - 0.5)
            a = 0.7 + 0.6 * amp
            row = a * (np.exp(-0.5 * (bins - f1) ** 2) + 0.7 * np.exp(-0.5 * (bins - f2) ** 2))
            spec[i, t:t + frames] = row
            t += frames + int(gap * 3)
            labels[i, j] = k + 1
        lengths[i] = length
    return (spec + 0.25 * noise).astype(np.float32), labels, lengths


def options(about):
    return tut.parse(about, epochs=8, batch=32, lr=3e-3,
                     extra=lambda p: p.add_argument("--train", type=int, default=2048))


def problem(a):
    """(train (x, labels, lengths), test (...), steps per epoch); --quick as the C program."""
    if a.quick:
        a.epochs, a.train, a.batch, a.lr = 3, 768, 8, 1e-2
    return utterances(a.seed + 1, a.train), utterances(a.seed + 101, 512), a.train // a.batch


def init(seed):
    """{conv (KW*F,CONV) -> (KW,1,F,CONV) in the C program, conv_b, fwd/bwd GRUs {wi, bi, wh}, out
    {w, b}} as speech_ctc.c's init_params."""
    def gru(s):
        return {"wi": tut.weights(s, CONV, 3 * H, 1 / np.sqrt(CONV)), "bi": np.zeros(3 * H, np.float32),
                "wh": tut.weights(s + 1, H, 3 * H, 1 / np.sqrt(H))}
    return {"conv": tut.weights(seed + 10, KW * F, CONV, 1 / np.sqrt(KW * F)), "conv_b": np.zeros(CONV, np.float32),
            "fwd": gru(seed + 20), "bwd": gru(seed + 30),
            "out_w": tut.weights(seed + 40, 2 * H, C, 1 / np.sqrt(2 * H)), "out_b": np.zeros(C, np.float32)}


def report(decoded, labels, lengths):
    ler = ctc.label_error_rate(decoded, labels, lengths)
    exact = np.mean([d == list(labels[i, :lengths[i]]) for i, d in enumerate(decoded)])
    print(f"test label error rate {100 * ler:.2f}% ({100 * exact:.1f}% of {len(lengths)} utterances exactly right)")
    tut.metric("label_error_rate", ler)
