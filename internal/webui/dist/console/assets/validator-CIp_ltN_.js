import{cp as i}from"./index-k0CcodQX.js";const n=o=>["",...i].includes(o);export{n as i};
