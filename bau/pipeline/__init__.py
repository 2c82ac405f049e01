"""The training and test pipeline: image transforms, RandAugment, random erasing, the identity
sampler and the data loaders. Everything here is torch; reading the dataset folders is
bau.datasets (torch-free).
"""
