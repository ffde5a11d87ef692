from __future__ import annotations

import numpy as np
import pytest
import torch
from newsops_batch.engine import Engine, growing_slices, mean_pool_normalized, plan_batches
from newsops_batch.placement import choose_placement


def test_few_batches_take_one_cpu_worker_with_all_threads(tiny_models):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_models["embedding"]).eval()
    engine = Engine(model, choose_placement(precision="fp32", batch_tokens=4096, device="cpu"),
                    pad_token_id=0, head=mean_pool_normalized, workers=2)
    engine.run([[2, 10, 11, 3], [2, 12, 3]])  # one batch: a second worker would only idle
    assert engine.stats.parallel_calls == 0


def test_plan_batches_cover_every_index_once_within_the_budget():
    lengths = [5, 300, 17, 17, 64, 1, 128, 90, 33, 250]
    batches = plan_batches(lengths, 512)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) * max(lengths[i] for i in b) <= 512 or len(b) == 1
    # Longest first, and each batch holds neighbours in length (sorted, so padding stays small).
    assert max(lengths[i] for i in batches[0]) == 300


def test_a_sequence_longer_than_the_budget_still_gets_a_batch_of_its_own():
    assert plan_batches([10, 2000, 10], 256) == [[1], [0, 2]]


def test_multiple_rounds_the_padded_length():
    assert plan_batches([7, 7, 7], 16, multiple=8) == [[2], [0, 1]]


def test_growing_slices_double_up_to_the_limit():
    sizes = [len(s) for _, s in growing_slices(list(range(100)), start=4, limit=32)]
    assert sizes == [4, 8, 16, 32, 32, 8]


def _naive(model, seqs):
    out = []
    with torch.no_grad():
        for s in seqs:
            ids = torch.tensor([s])
            res = model(input_ids=ids, attention_mask=torch.ones_like(ids))
            out.append(mean_pool_normalized(res, torch.ones_like(ids))[0].numpy())
    return out


@pytest.mark.parametrize(("overlap", "workers"), [(False, 1), (False, 2), (True, 1)])
def test_engine_returns_in_input_order_what_one_at_a_time_returns(tiny_models, overlap, workers):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_models["embedding"]).eval()
    rng = np.random.default_rng(0)
    seqs = [[2, *rng.integers(5, 60, size=int(n)).tolist(), 3] for n in rng.integers(1, 60, size=40)]
    engine = Engine(model, choose_placement(precision="fp32", batch_tokens=128, device="cpu"),
                    pad_token_id=0, head=mean_pool_normalized, overlap=overlap, workers=workers)
    threads = torch.get_num_threads()
    got = engine.stream(iter([seqs[:7], seqs[7:]]))
    want = _naive(model, seqs)
    cos = [float(np.dot(a, b)) for a, b in zip(got, want, strict=True)]
    assert min(cos) > 0.99999
    assert engine.stats.sequences == 40 and engine.stats.batches > 1
    assert engine.stats.padded_tokens < 40 * 62  # never padded to a fixed length
    assert torch.get_num_threads() == threads  # the workers' share of threads is given back
    assert engine.stats.parallel_calls == (1 if workers == 2 else 0)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_sequence_is_isolated_and_the_rest_of_its_batch_succeeds(tiny_models, workers):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_models["embedding"]).eval()
    vocab_size = model.config.vocab_size
    seqs = [[2, 10 + i % 40, 11, 3] for i in range(60)]
    seqs[17] = [2, vocab_size + 5, 11, 3]
    # 5 rows a batch: 12 batches, enough for two CPU workers to share them.
    engine = Engine(model, choose_placement(precision="fp32", batch_tokens=20, device="cpu"),
                    pad_token_id=0, head=mean_pool_normalized, workers=workers)
    out = engine.run(seqs)
    assert isinstance(out[17], Exception)
    assert all(isinstance(o, np.ndarray) for i, o in enumerate(out) if i != 17)
    assert engine.stats.split_batches >= 1
    assert engine.stats.parallel_calls == (1 if workers == 2 else 0)


@pytest.mark.parametrize(("overlap", "workers"), [(False, 1), (False, 2), (True, 1)])
def test_an_error_while_tokenising_reaches_the_caller(tiny_models, overlap, workers):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_models["embedding"]).eval()
    engine = Engine(model, choose_placement(precision="fp32", device="cpu"), pad_token_id=0,
                    head=mean_pool_normalized, overlap=overlap, workers=workers)

    def slices():
        yield [[2, 3]]
        raise ValueError("tokenizer exploded")

    with pytest.raises(ValueError, match="tokenizer exploded"):
        engine.stream(slices())


def test_placement_cpu_precision_and_budget(monkeypatch):
    monkeypatch.delenv("NEWSOPS_PRECISION", raising=False)
    p = choose_placement(precision="fp16", batch_tokens=100_000, cpu_batch_tokens=1024, device="cpu")
    assert p.precision == "fp32" and p.batch_tokens == 1024  # no fp16 autocast on CPUs
    assert choose_placement(precision="bf16", device="cpu").amp_dtype == torch.bfloat16
    with pytest.raises(ValueError):
        choose_placement(precision="fp8", device="cpu")


def test_tokenizer_threads_follow_the_device_unless_set(monkeypatch):
    from newsops_batch.placement import set_tokenizer_parallelism

    monkeypatch.delenv("TOKENIZERS_PARALLELISM", raising=False)
    assert set_tokenizer_parallelism(torch.device("cpu")) == "false"  # the cores are torch's
    monkeypatch.delenv("TOKENIZERS_PARALLELISM")
    assert set_tokenizer_parallelism(torch.device("cuda")) == "true"  # the host must keep up
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    assert set_tokenizer_parallelism(torch.device("cuda")) == "false"  # an explicit choice stays
