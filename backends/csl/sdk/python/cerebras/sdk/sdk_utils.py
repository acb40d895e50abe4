"""The SDK's host helpers that the examples import, for meshc's CSL simulator (NOT the Cerebras SDK).

Written from their documented behaviour: memcpy moves 32-bit words, and 16-bit data travels in the
low half of each word.
"""
import numpy as np


def input_array_to_u32(np_arr, sentinel, fast_dim_sz):
    """A host array as the 32-bit words memcpy sends: 32-bit data as is; 16-bit data in the low half
    of each word, the high half zero when ``sentinel`` is None, else the element's index along the
    fastest dimension (of ``fast_dim_sz``) -- as csl-examples' topic-03 run.py describes the SDK's."""
    a = np.ascontiguousarray(np_arr).reshape(-1)
    if a.dtype.itemsize == 4:
        return a.view(np.uint32).copy()
    if a.dtype.itemsize == 2:
        words = a.view(np.uint16).astype(np.uint32)
        if sentinel is not None:
            words |= (np.arange(a.size, dtype=np.uint32) % np.uint32(max(1, int(fast_dim_sz)))) << np.uint32(16)
        return words
    raise ValueError(f"input_array_to_u32: {a.dtype} is neither 16- nor 32-bit")


def memcpy_view(arr, dtype):
    """The 32-bit words ``arr`` seen as ``dtype``: a 16-bit dtype reads the low half of each word."""
    dtype = np.dtype(dtype)
    a = np.ascontiguousarray(arr)
    if dtype.itemsize == 4:
        return a.view(dtype)
    if dtype.itemsize == 2:
        return a.view(np.uint16)[..., ::2].view(dtype) if a.dtype.itemsize == 4 else a.view(dtype)
    raise ValueError(f"memcpy_view: {dtype} is neither 16- nor 32-bit")


def calculate_cycles(words):
    """Cycles between two timestamps packed in three 32-bit words: the first timestamp's three
    16-bit words, then the second's, low half first -- the packing WaferLLM's kernels write."""
    w = np.ascontiguousarray(words).reshape(-1)[:3].view(np.uint32).astype(np.int64)
    halves = [int(w[i // 2] >> (16 * (i % 2))) & 0xffff for i in range(6)]
    start = halves[0] | halves[1] << 16 | halves[2] << 32
    end = halves[3] | halves[4] << 16 | halves[5] << 32
    return end - start
