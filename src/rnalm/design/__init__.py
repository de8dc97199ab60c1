"""Design with task models: in-silico saturation mutagenesis and constrained sequence optimisation.

* :mod:`~rnalm.design.constraints` -- the rules a design must satisfy, and contradictions between them;
* :mod:`~rnalm.design.objective` -- what is maximised, minimised or targeted: task models, ensembles, weights;
* :mod:`~rnalm.design.scan` -- every single mutant of a sequence and its effect;
* :mod:`~rnalm.design.optimize` -- an evolutionary algorithm that only proposes valid sequences;
* :mod:`~rnalm.design.report` -- the ranked designs CSV, the HTML report, the scan folder.

Every number these produce is a model's prediction, never a measurement.
"""
