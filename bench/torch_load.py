"""torch_load.py - A GPU load for scripts/gpu-check.sh where nvcc is missing: back-to-back
bf16 matrix multiplies on GPU 0 for the given number of seconds (default 5)."""
import sys
import time

import torch

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
end = time.time() + seconds
while time.time() < end:
    for _ in range(10):
        a @ a
    torch.cuda.synchronize()
print(f"torch_load: {seconds:.1f} s of bf16 matmul")
