from ciam_profile.api.identity import router as identity_router
from ciam_profile.api.profiles import router as profiles_router
from ciam_profile.api.tracking import router as tracking_router

routers = [profiles_router, identity_router, tracking_router]
