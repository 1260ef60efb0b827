% Reference outputs of HDR Toolbox's tone-mapping operators for tests/test_tonemappers.py.
% Run by tests/hdrtoolbox_tmo.py in a folder holding in.mat (imgs, preds: N x H x W x 3 double; p99: N x 1),
% with HDR Toolbox's source_code on the path (addpath(genpath(...))). Writes out.mat.
load('in.mat');
n = size(imgs, 1);
key = 0.18;
for k = 1:n
  img = reshape(imgs(k, :, :, :), size(imgs)(2:4));
  pred = reshape(preds(k, :, :, :), size(preds)(2:4));
  L = lum(img);
  Lwa = logMean(L);
  white = max(key * L(:) / Lwa);                       % L_white = the largest scaled luminance
  rg = ReinhardTMO(img, key, white, 'global');
  rl = ReinhardTMO(img, key, white, 'local');          % pPhi = 8, pEpsilon = 0.05 (defaults)
  rgx = ReinhardTMO(pred, key, white, 'global', 8, Lwa); % another image mapped with img's statistics
  rlx = ReinhardTMO(pred, key, white, 'local', 8, Lwa);
  dr = DragoTMO(img, 100, 0.85, -1, 0);                % Ld_max = 100 cd/m^2, b = 0.85, Lwa = logMean
  out.(sprintf('reinhard_global_%d', k)) = real(rg);
  out.(sprintf('reinhard_local_%d', k)) = real(rl);
  out.(sprintf('reinhard_global_cross_%d', k)) = real(rgx);
  out.(sprintf('reinhard_local_cross_%d', k)) = real(rlx);
  out.(sprintf('drago_%d', k)) = real(dr);
  out.(sprintf('reinhard_global_display_%d', k)) = GammaTMO(real(rg), 2.2, 0, 0);
  out.(sprintf('drago_display_%d', k)) = GammaDrago(real(dr));
  out.(sprintf('p99_gamma_display_%d', k)) = GammaTMO(img, 2.2, log2(1 / p99(k)), 0);
  out.(sprintf('Lwa_%d', k)) = Lwa;
  out.(sprintf('Lwhite_%d', k)) = white;
end
out.octave_version = OCTAVE_VERSION;
save('-v7', 'out.mat', '-struct', 'out');
