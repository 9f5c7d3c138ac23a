"""Advisory lock keys: how loaders and embedders keep out of each other's way.

- A load holds LOAD exclusively for its whole transaction: two loads take turns.
- An embedder's batch holds LOAD shared while it writes, so no load can delete the batch's
  chunks in between; embedders do not block each other on it.
- An embedder holds (EMBED_NAMESPACE, model id) for its whole run: two embedders of one
  model take turns, the second then finding little left to do.
Advisory locks die with their session, so a killed process never leaves one behind.
"""

LOAD = 7_251_220_001
EMBED_NAMESPACE = 7_251_220
