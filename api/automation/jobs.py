"""Every job the api runs, gathered from the `JOBS` each domain declares in its scheduled.py. Each is idempotent:
run twice for one due time, the second run changes nothing."""

from api.automation import scheduled as automation
from api.automation.schedule import Job
from api.conversations import scheduled as conversations
from api.notices import scheduled as notices
from api.opendata import scheduled as opendata
from api.reports import scheduled as reports
from api.tours import scheduled as tours
from api.training import scheduled as training

# A new domain with jobs adds its scheduled module here.
DOMAINS = (tours, conversations, notices, automation, opendata, reports, training)

JOBS: dict[str, Job] = {job.name: job for domain in DOMAINS for job in domain.JOBS}
