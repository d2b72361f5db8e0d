"""leadsim: make a written lead definition executable."""
from leadsim.definition import LeadDefinition, diff, load_definition
from leadsim.errors import LeadsimError

__all__ = ["LeadDefinition", "LeadsimError", "diff", "load_definition"]
__version__ = "0.1.0"
