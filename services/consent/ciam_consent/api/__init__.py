from ciam_consent.api.catalogue import router as catalogue_router
from ciam_consent.api.keys import router as keys_router
from ciam_consent.api.subjects import router as subjects_router

routers = [catalogue_router, subjects_router, keys_router]
