"""Training utilities shared by the tasks: LR schedule, length-budget batching, device, seeding."""
