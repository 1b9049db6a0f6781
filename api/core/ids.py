"""The one type of an id in a request (path, query or body): only what an id column can hold gets past validation."""

from typing import Annotated

from pydantic import Field

# Every id and version number is an INTEGER column, 32 bits on PostgreSQL. A larger number sent to the database
# fails there (or in the SQLite driver, past 64 bits) as a server error; refused here it is a 422 like any bad input.
MAX_ID = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
