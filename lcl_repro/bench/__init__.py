"""The benchmark: the framework against a bare PyTorch loop, each method against CE, bf16 against
fp32, batched evaluation against the papers' one-sentence protocol, and data preparation.

    python scripts/bench.py                                  # MiniLM, EmoInt, CPU (= python -m lcl_repro.bench)
    python scripts/bench.py --quick encoder=tiny             # every measurement once, in seconds
    python scripts/bench.py encoder=electra_base_random hardware=bf16 --name h100-bf16   # GPU: + MFU, GPU-hours

Every number that has a goal is a ratio taken in one process, with the timed steps of the compared
variants interleaved (round-robin, order rotated each round) on identical batches, so drift on a
shared machine hits them equally; a ratio is the median of the per-round ratios.

  framework CE step / bare loop     Trainer.step (objective loss, backward, per-network clipping,
                                    optimizer + scheduler step) vs AutoModel + the same head, torch's
                                    AdamW with its defaults, the same clipping        goal <= 1.05
  method step / CE step             on the same sequences (LCL: 2 encoders; CE+CL: 2 dropout passes,
                                    so CE sees the batch twice; SupCL-Seq: N views of the same B
                                    originals that CE sees once, goal 1.05 x N)
  bf16 / fp32 step                  each method's step under hardware=cpu_bf16 (bf16 autocast) vs
                                    fp32 from the same initial weights             goal <= 0.55 (CE, LCL)
  contrastive loss share            forward + backward of the loss alone / step       goal < 2 %
  evaluation                        batched, length-sorted `predict` (fp32 and bf16) vs one unpadded
                                    fp32 sentence per forward pass (the papers' protocol)   goal >= 5x
  data preparation                  GoEmotions `prepare_data` with a warm cache, in a fresh
                                    interpreter (so its imports count, as on a real second run) < 2 s

Also: tokens and sequences per second, encoder passes per step, peak memory (CPU RSS; GPU max
allocated), model FLOP utilisation on known GPUs, and the device-hours of the LCL Table 1 grid. The
JSON (outputs/bench/<name or timestamp>.json) is what `make <table> PLAN=1` reads its rates from.

Modules: `common` (config, goals), `timing` (interleaved timing), `variants` (what is timed),
`evaluation`, `prepare` (data preparation in a fresh interpreter), `device` (FLOPs, MFU),
`grid` (LCL Table 1 estimate), `run` (the whole benchmark), `report` (tables), `__main__` (CLI).
"""
