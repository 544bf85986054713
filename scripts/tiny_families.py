"""The project's tiny random-weight family checkpoints (Tests/Fixtures/families), loaded for reference scripts."""
import os
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "qwen3moe", "mixtral"]


def load(family, directory):
    """Unpacks families/<family>.tar.gz into `directory` and loads its Hugging Face checkpoint in fp32 (eager)."""
    import torch
    from transformers import AutoModelForCausalLM

    with tarfile.open(os.path.join(ROOT, "Tests/Fixtures/families", family + ".tar.gz")) as tar:
        tar.extractall(directory, filter="data")
    return AutoModelForCausalLM.from_pretrained(
        os.path.join(directory, family, "hf"), dtype=torch.float32, attn_implementation="eager").eval()
