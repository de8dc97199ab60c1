import hashlib

import torch

from rnalm.io.digest import sha256_file, state_sha256


def test_sha256_file(tmp_path):
    p = tmp_path / "x.bin"
    data = bytes(range(256)) * 5000
    p.write_bytes(data)
    assert sha256_file(p) == hashlib.sha256(data).hexdigest() == sha256_file(p, chunk=7)


def test_state_sha256_is_the_weights_identity():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    assert state_sha256(a) != state_sha256(b)
    b.load_state_dict(a.state_dict())
    assert state_sha256(a) == state_sha256(b)
    assert state_sha256(a) != state_sha256(a.to(torch.float64))
