"""RNA-FM (ncRNA) and mRNA-FM (codon) models: alphabets and the rna-fm .pth converter."""
