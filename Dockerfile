# Production image: a static secmetrics binary on a distroless base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# nomsgpack: as in the Makefile, gin without its MessagePack codec (unused).
RUN CGO_ENABLED=0 go build -trimpath -tags nomsgpack -ldflags "-s -w -X main.version=${VERSION}" -o /out/secmetrics ./cmd/secmetrics

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/secmetrics /usr/local/bin/secmetrics
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/secmetrics"]
CMD ["serve"]
