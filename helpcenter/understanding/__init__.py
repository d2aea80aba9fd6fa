"""Understanding a question: normalise, the signals (n-gram, BM25, e5), fusion and the decision,
slots, evaluation. May import: helpcenter.knowledge."""
