"""Pretraining: masked LM plus UTR-LM's optional MFE and secondary-structure supervision."""
