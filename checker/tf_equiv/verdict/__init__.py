"""From both sides' records to a verdict per check: comparisons with statistics, the structural
checks, the judge. No TensorFlow here."""
