# Step 3: the API's image (full CRUD on one resource, in memory).
#
# TODO: build your API (the statement suggests Javalin: a Maven build stage, then a JRE), say
#       which port it listens on (EXPOSE) and how it starts (CMD).
#
# FROM ... AS build
# ...
# FROM ...
# COPY --from=build ...
# EXPOSE 7000
# CMD [...]
