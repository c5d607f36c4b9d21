"""Contrastive losses as pure functions of tensors.

All functions take float tensors of any dtype, compute in fp32 (fp64 stays fp64) with autocast
disabled, L2-normalise their representations, and return a 0-d tensor.

* :func:`supcon_loss` — supervised contrastive loss (Khosla et al.; Gunel et al. Eq. 3), SCL and SupCL-Seq.
* :func:`lcl_loss` — label-aware contrastive loss (Suresh & Ong, Eqs. 3–4, as in the authors' code).
* :func:`lacon_instance_loss`, :func:`lacon_label_loss`, :func:`lacon_embedding_regulariser`,
  :func:`lacon_loss` — LaCon (Zhang et al. 2022, Eqs. 4–7).
* :func:`infonce_loss` — self-supervised NT-Xent over two views (CE+CL baseline).
"""
from .infonce import infonce_loss
from .lacon import lacon_embedding_regulariser, lacon_instance_loss, lacon_label_loss, lacon_loss
from .lcl import lcl_loss
from .supcon import supcon_loss

__all__ = [
    "infonce_loss",
    "lacon_embedding_regulariser",
    "lacon_instance_loss",
    "lacon_label_loss",
    "lacon_loss",
    "lcl_loss",
    "supcon_loss",
]
