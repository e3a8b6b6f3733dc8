# Step 2: the jokes API's image.
#
# TODO: pick a base image for your language (the 2021 report used node with Express; Flask,
#       Javalin and others are fine), copy your server, install its dependencies, say which
#       port it listens on (EXPOSE) and how it starts (CMD).
#
# The server answers GET / with a random joke as JSON; behind the proxy that is
# /api/jokes/ (the proxy strips the prefix, step 3).
#
# FROM ...
# COPY ...
# EXPOSE 3000
# CMD [...]
