#!/usr/bin/env python3
"""Build assets/clip/tokenizer.json from OpenAI's BPE merges file.

The vocabulary is derived exactly as OpenAI's `simple_tokenizer.py` does it: the 256 byte
symbols, the same with the end-of-word marker `</w>`, one token per merge (the first
49152 - 256 - 2 merges of the file), then `<|startoftext|>` and `<|endoftext|>`: 49408 ids.
The tokenizer pipeline itself is transformers' `CLIPTokenizer` (normalise NFC, collapse
whitespace, lowercase; CLIP's split regex; byte-level BPE; `<|startoftext|> … <|endoftext|>`).

As an independent check, a small re-implementation of OpenAI's BPE (pure Python) must give the
same ids as the transformers tokenizer on a set of ASCII sentences.

Usage: python3 scripts/make_tokenizer.py [BPE_GZ] [OUT_JSON]
"""
import gzip
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BPE = ROOT.parent / "shared" / "clip" / "bpe_simple_vocab_16e6.txt.gz"
DEFAULT_OUT = ROOT / "assets" / "clip" / "tokenizer.json"


def bytes_to_unicode():
    """GPT-2's reversible byte → printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def load_vocab_and_merges(bpe_gz):
    lines = gzip.open(bpe_gz).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408, len(vocab)
    return {tok: i for i, tok in enumerate(vocab)}, merges


class ReferenceBpe:
    """OpenAI's BPE on already-clean lowercase ASCII text (no ftfy), for cross-checking."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+""")

    def bpe(self, token):
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = [(word[i], word[i + 1]) for i in range(len(word) - 1)]
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        return word

    def encode(self, text):
        text = " ".join(text.split()).lower()
        ids = [self.vocab["<|startoftext|>"]]
        for tok in self.pat.findall(text):
            tok = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids += [self.vocab[t] for t in self.bpe(tok)]
        return ids[:76] + [self.vocab["<|endoftext|>"]]


def build(bpe_gz):
    from transformers import CLIPTokenizer

    vocab, merges = load_vocab_and_merges(bpe_gz)
    return CLIPTokenizer(vocab=vocab, merges=merges), vocab, merges


def main():
    bpe_gz = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_BPE
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_OUT
    tok, vocab, merges = build(bpe_gz)
    ref = ReferenceBpe(vocab, merges)
    checks = [
        "a photo of a cat",
        "A Photo OF a CAT!!",
        "point cloud depth map of a night stand.",
        "it's a grayscale rendering of a 3D model of an airplane, isn't it?",
        "   spaces\tand\nnewlines   ",
        " ".join(["word"] * 100),
    ]
    for text in checks:
        got = tok(text, truncation=True, max_length=77)["input_ids"]
        want = ref.encode(text)
        assert got == want, (text, got, want)
    assert tok("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]
    out.parent.mkdir(parents=True, exist_ok=True)
    tok.backend_tokenizer.save(str(out), pretty=False)
    print(f"wrote {out} ({len(vocab)} tokens, {len(merges)} merges); reference BPE agrees on {len(checks)} texts")


if __name__ == "__main__":
    main()
