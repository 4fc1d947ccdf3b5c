"""Foundation shared by every stage: run model, hparam values, errors, files, logging."""
